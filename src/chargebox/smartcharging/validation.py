"""The rules a SetChargingProfile.req must pass before its profile is installed.

`check_profile` returns a `Verdict`: Accepted with the profile to install, or
Rejected with the reason (and, for a connectorId that does not exist, the
CALLERROR the errata asks for instead of a status). Each rule names the part
of the specification (or, where the specification is silent, the libocpp
configuration key) it comes from; docs/smartcharging.md lists them all.
"""

from __future__ import annotations

from datetime import datetime
from itertools import pairwise

import attrs

from chargebox.ocpp.errors import ErrorCode
from chargebox.ocpp.v16 import (
    ChargingProfile,
    ChargingProfileKindType,
    ChargingProfilePurposeType,
    ChargingProfileStatus,
    ChargingRateUnitType,
)

from .settings import ChargingContext

Kind = ChargingProfileKindType
Purpose = ChargingProfilePurposeType


@attrs.frozen
class Verdict:
    """The answer to a SetChargingProfile.req (or to the profile of a RemoteStartTransaction.req).

    - `status`: what SetChargingProfile.conf says.
    - `reason`: why it was not accepted (for the log; None when accepted).
    - `profile`: when accepted, the profile to install; it differs from the
      received one only by a startSchedule filled in under
      AllowChargingProfileWithoutStartSchedule.
    - `call_error`: when set, the request must be answered with a CALLERROR
      of this code (and `reason` as its description) rather than a status.
    """

    status: ChargingProfileStatus
    reason: str | None = None
    profile: ChargingProfile | None = None
    call_error: ErrorCode | None = None

    @property
    def accepted(self) -> bool:
        return self.status == ChargingProfileStatus.Accepted


def _rejected(reason: str) -> Verdict:
    return Verdict(ChargingProfileStatus.Rejected, reason)


def check_profile(
    connector_id: int,
    profile: ChargingProfile,
    now: datetime,
    context: ChargingContext,
    installed_after: int,
) -> Verdict:
    """Judge `profile` for `connector_id`; `installed_after` is how many profiles would be
    installed once it replaced what it replaces (for MaxChargingProfilesInstalled)."""
    settings = context.settings
    purpose = Purpose(profile.charging_profile_purpose)
    kind = Kind(profile.charging_profile_kind)
    schedule = profile.charging_schedule

    # Errata 3.39: an invalid connectorId is a CALLERROR PropertyConstraintViolation
    # (libocpp answers Rejected).
    if not 0 <= connector_id <= context.number_of_connectors:
        return Verdict(
            ChargingProfileStatus.Rejected,
            f"connectorId {connector_id} is not 0..{context.number_of_connectors}",
            call_error=ErrorCode.PropertyConstraintViolation,
        )
    # SupportedChargingProfilePurposeTypes (a libocpp key; the spec knows all three).
    if purpose not in settings.supported_purposes:
        return _rejected(f"chargingProfilePurpose {purpose} is not supported")
    # 7.8 stackLevel >= 0; 9.4.1 ChargeProfileMaxStackLevel.
    if not 0 <= profile.stack_level <= settings.max_stack_level:
        return _rejected(f"stackLevel {profile.stack_level} is not 0..{settings.max_stack_level}")

    # The schedule (7.13, 7.14, 9.4.2, 9.4.3).
    periods = schedule.charging_schedule_period
    if not periods:
        return _rejected("chargingSchedulePeriod is empty (7.13: 1..*)")
    if len(periods) > settings.max_periods:
        return _rejected(
            f"{len(periods)} periods exceed ChargingScheduleMaxPeriods {settings.max_periods}"
        )
    unit = ChargingRateUnitType(schedule.charging_rate_unit)
    if unit not in settings.allowed_units:
        allowed = ", ".join(settings.allowed_units)
        return _rejected(
            f"chargingRateUnit {unit} is not in ChargingScheduleAllowedChargingRateUnit ({allowed})"
        )
    if periods[0].start_period != 0:
        return _rejected(f"the first startPeriod is {periods[0].start_period}, not 0 (errata 3.45)")
    for before, period in pairwise(periods):
        if period.start_period <= before.start_period:
            return _rejected(
                f"startPeriod {period.start_period} does not follow {before.start_period} (7.14)"
            )
    for period in periods:
        if period.limit < 0:
            return _rejected(f"limit {period.limit} is negative")
        if period.number_phases is not None and not 1 <= period.number_phases <= 3:
            return _rejected(f"numberPhases {period.number_phases} is not 1..3")
    if schedule.duration is not None and schedule.duration < 0:
        return _rejected(f"duration {schedule.duration} is negative")
    if schedule.min_charging_rate is not None and schedule.min_charging_rate < 0:
        return _rejected(f"minChargingRate {schedule.min_charging_rate} is negative")

    # The kind (7.8, 7.9, 7.13).
    if kind == Kind.Recurring and profile.recurrency_kind is None:
        return _rejected("a Recurring profile needs recurrencyKind (7.8)")
    if kind != Kind.Relative and schedule.start_schedule is None:
        # 7.9: an Absolute schedule is relative to a point in time the schedule
        # defines; a Recurring one restarts from it.
        if not settings.allow_without_start_schedule:
            return _rejected(f"an {kind} profile needs startSchedule (7.9)")
        profile = attrs.evolve(
            profile, charging_schedule=attrs.evolve(schedule, start_schedule=now)
        )

    # The purpose (3.13.1, 5.16).
    if purpose == Purpose.ChargePointMaxProfile:
        if connector_id != 0:
            return _rejected("a ChargePointMaxProfile can only be set on connectorId 0 (3.13.1)")
        if kind == Kind.Relative:
            return _rejected("a ChargePointMaxProfile cannot be Relative: it has no transaction")
    if purpose == Purpose.TxProfile:
        if connector_id == 0:
            return _rejected("a TxProfile can only be set on connectorId > 0 (3.13.1)")
        if context.remote_start:
            # 5.16.2 / errata 3.41: no transactionId yet; the profile is for the
            # transaction about to start.
            if profile.transaction_id is not None:
                return _rejected("the TxProfile of a RemoteStartTransaction has no transactionId")
        else:
            transaction = context.transaction(connector_id)
            if transaction is None:
                return _rejected(f"no transaction is active on connector {connector_id} (3.13.1)")
            if profile.transaction_id is not None and profile.transaction_id != (
                transaction.transaction_id
            ):
                return _rejected(
                    f"transactionId {profile.transaction_id} is not the transaction on connector "
                    f"{connector_id} ({transaction.transaction_id})"
                )
    elif context.remote_start:
        return _rejected("the profile of a RemoteStartTransaction must be a TxProfile (5.16.2)")
    elif profile.transaction_id is not None:
        return _rejected(f"transactionId is only valid in a TxProfile, not a {purpose} (7.8)")

    # 9.4.5 MaxChargingProfilesInstalled: profiles installed at a time, so a
    # replacement does not count twice (libocpp counts before replacing).
    if installed_after > settings.max_profiles_installed:
        return _rejected(
            f"MaxChargingProfilesInstalled {settings.max_profiles_installed} would be exceeded"
        )
    return Verdict(ChargingProfileStatus.Accepted, profile=profile)
