"""The outbox actor: statecharts/outbox.yaml delivering the persisted transaction messages.

The messages live in the store, in order; whoever produces one writes it
there first and then tells this actor (`Enqueued`), so a message the host
handed over is on disk before the handle call returns. The chart decides when
the oldest is transmitted, retried or dropped, and when the queue is thinned
(MessageQueueSizeThreshold); this actor transmits it over
the endpoint and routes the answers: StartTransaction.conf gives the
transaction its id (which the store fills into the queued MeterValues and
StopTransaction of that transaction), every idTagInfo goes to the
authorization cache.
"""

from __future__ import annotations

import logging
from typing import Any

import trio

from chargebox.actors.actor import Actor
from chargebox.actors.context import StationContext
from chargebox.actors.endpoint import CallFailed, CallTimeout, ConnectionLost, Offline
from chargebox.charts.addresses import Address
from chargebox.charts.effects import Effect, RemoveQueueHead, SendQueueHead, ThinQueue
from chargebox.charts.events import outbox as events
from chargebox.charts.events.station import StopTransactionDone
from chargebox.charts.events.transaction import StartAccepted, StartRejected
from chargebox.charts.models import OutboxModel
from chargebox.config import ChargePointConfig
from chargebox.errors import StoreWriteError
from chargebox.ocpp import codec
from chargebox.ocpp.errors import ValidationError
from chargebox.ocpp.v16 import ACTIONS, AuthorizationStatus
from chargebox.store import QueuedMessage

log = logging.getLogger(__name__)


def retry_settings(cfg: ChargePointConfig) -> events.RetrySettingsChanged:
    """TransactionMessageAttempts and TransactionMessageRetryInterval as they are now."""
    return events.RetrySettingsChanged(
        attempts=cfg.transaction_message_attempts,
        retry_interval=cfg.transaction_message_retry_interval,
    )


class OutboxActor(Actor[OutboxModel]):
    def __init__(self, ctx: StationContext, authorizer: Any) -> None:
        cfg = ctx.cfg
        model = OutboxModel(
            transaction_message_attempts=cfg.transaction_message_attempts,
            transaction_message_retry_interval=cfg.transaction_message_retry_interval,
            queued=ctx.store.queue_length(),
            message_queue_size_threshold=cfg.get("MessageQueueSizeThreshold"),
        )
        super().__init__(Address.outbox(), model, clock=ctx.clock, inbox_size=4096)
        self.ctx = ctx
        self.authorizer = authorizer
        self._head: QueuedMessage | None = None
        #: messages delivered and dropped since start (for inspection)
        self.delivered = 0
        self.dropped = 0
        # the transmission's task taking its answer (the next head goes on in it), and
        # the next head it is to transmit
        self._continuing: trio.lowlevel.Task | None = None
        self._next: tuple[QueuedMessage, int, int] | None = None

    async def perform(self, effect: Effect) -> None:
        if isinstance(effect, SendQueueHead):
            head = self.ctx.store.head()
            self._head = head
            if head is None:
                log.error("the outbox expected a message but the queue is empty")
                await self.inbox.send(events.Unsendable())
                return
            ticket = self.ctx.endpoint.reserve()  # in line with the CALLs decided before it
            if self._continuing is trio.lowlevel.current_task():
                # decided while the last transmission's task took its answer: that task
                # goes on with this one (a task a message cost as much as its transition)
                self._next = (head, effect.attempt, ticket)
                return
            # decided in the outbox's own handling: the same task transmits once the
            # inbox is empty (a task less per queued message)
            self.start_after(self._transmit, head, effect.attempt, ticket)
        elif isinstance(effect, ThinQueue):
            await self._thin(effect)
        elif isinstance(effect, RemoveQueueHead):
            head, self._head = self._head, None
            if head is None:
                return
            self.ctx.store.remove(head.seq, delivered=effect.delivered)
            if effect.delivered:
                self.delivered += 1
            else:
                self.dropped += 1
                log.error(
                    "%s dropped after %d failed attempts (TransactionMessageAttempts)",
                    head.action,
                    self.model.transaction_message_attempts,
                )
                if head.action == "StartTransaction" and head.tx_ref is not None:
                    # no transactionId will come: the transaction's other messages go with
                    # transactionId -1, which the Central System answers as a valid one
                    # (errata 3.18, section 4.8); its StopTransaction is not lost
                    self.ctx.store.set_transaction_id(head.tx_ref, -1)
            if head.action == "StopTransaction" and head.tx_ref is not None:
                self.ctx.store.forget_transaction(head.tx_ref)
                assert self.ctx.deliver is not None
                await self.ctx.deliver(Address.station(), StopTransactionDone(tx_ref=head.tx_ref))
        else:
            await super().perform(effect)

    async def _thin(self, effect: ThinQueue) -> None:
        """MessageQueueSizeThreshold, for every producer (transactions, security events)."""
        head = self._head
        spare = head.seq if effect.spare_head and head is not None else None
        try:
            removed = self.ctx.store.thin_queue(effect.keep, spare=spare)
        except StoreWriteError as e:
            log.warning("MessageQueueSizeThreshold %d passed: %s", effect.keep, e)
            return
        if removed:
            log.warning(
                "MessageQueueSizeThreshold %d passed: %d messages dropped", effect.keep, removed
            )
            # the count follows the store before the chart takes any other event
            await self.handle(events.QueueThinned(removed=removed))

    async def _transmit(self, head: QueuedMessage, attempt: int, ticket: int) -> None:
        """Transmit the head, and then each next head decided as this task took the
        answer of the one before.

        One coroutine from the head to its answer (and on to the next head): each of
        the transmission's waits resumes one frame of ours, not one per helper.
        The transmission's news (sent, answered) is handled here when the actor is idle
        (it nearly always is: `Actor.take_here`); this is on the path of every queued
        message, and starting a task to take one event costs as much as the chart's
        transition.
        """
        while True:
            try:
                request = self._request_of(head)
                if request is None:
                    await self.inbox.send(events.Unsendable())
                else:
                    await self.take_here(events.Sent())
                    try:
                        # the payload as queued: `request` was decoded from it, which
                        # checked it against the schema (transactionId filled in
                        # included), so it is not encoded and checked a second time
                        response = await self.ctx.endpoint.call(
                            request, unique_id=head.message_id, ticket=ticket, payload=head.payload
                        )
                    except (Offline, ConnectionLost):
                        pass  # the link tells us link_lost; the message stays first in line
                    except (CallFailed, CallTimeout) as e:
                        await self.inbox.send(self._failure(head, attempt, e))
                    else:
                        await self._answered(head, request, response)
                        self._continuing = trio.lowlevel.current_task()
                        try:
                            await self.take_here(events.Answered())
                        finally:
                            self._continuing = None
            finally:
                self.ctx.endpoint.release(ticket)
                following, self._next = self._next, None
            if following is None:
                return
            head, attempt, ticket = following

    def _request_of(self, head: QueuedMessage) -> Any:
        """The queued message as its request (None, logged: it cannot be sent)."""
        try:
            return codec.decode(ACTIONS[head.action].request, head.payload)
        except ValidationError as e:
            # a stored message that no longer passes its schema: it cannot be sent
            log.error("queued %s cannot be sent: %s", head.action, e.description)
            return None

    def _failure(
        self, head: QueuedMessage, attempt: int, error: CallFailed | CallTimeout
    ) -> events.OutboxEvent:
        """The chart's event for a transmission that failed (logged)."""
        if isinstance(error, CallFailed) and error.code in ("NotImplemented", "NotSupported"):
            log.warning("the Central System does not process %s (%s)", head.action, error)
            if head.action == "SecurityEventNotification":
                # a CSMS without the security whitepaper: keep the events in the log only
                self.ctx.security_events_to_csms = False
            return events.NotImplemented_()
        log.warning("%s attempt %d failed: %s", head.action, attempt, error)
        return events.Failed()

    async def _answered(self, head: QueuedMessage, request: Any, response: Any) -> None:
        if head.action == "StartTransaction":
            info = response.id_tag_info
            self.authorizer.remember(request.id_tag, info)
            if head.tx_ref is not None:
                self.ctx.store.set_transaction_id(head.tx_ref, response.transaction_id)
            answer: StartAccepted | StartRejected
            if info.status == AuthorizationStatus.Accepted:
                answer = StartAccepted(transaction_id=response.transaction_id, tx_ref=head.tx_ref)
            else:
                answer = StartRejected(
                    transaction_id=response.transaction_id,
                    status=str(info.status),
                    tx_ref=head.tx_ref,
                )
            assert self.ctx.deliver is not None
            await self.ctx.deliver(Address.transaction(request.connector_id), answer)
        elif head.action == "StopTransaction" and request.id_tag is not None:
            self.authorizer.remember(request.id_tag, response.id_tag_info)
