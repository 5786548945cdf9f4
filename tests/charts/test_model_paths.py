"""Model-driven tests without trio: generated paths replayed on bare chart models."""

from __future__ import annotations

import pytest

from chargebox.charts import chart, chart_names
from chargebox.charts.effects import CancelTimer, SendStatusNotification, StartTimer
from chargebox.charts.paths import Path, PathMismatch, check_path, replay

NAMES = chart_names()


@pytest.mark.parametrize("name", NAMES)
def test_paths_cover_every_declared_transition(
    name: str, chart_paths: dict[str, list[Path]]
) -> None:
    covered = set().union(*(p.covers for p in chart_paths[name]))
    assert covered == set(chart(name).transition_keys())


@pytest.mark.parametrize("name", NAMES)
def test_paths_replay_step_by_step_on_fresh_models(
    name: str, chart_paths: dict[str, list[Path]]
) -> None:
    loaded = chart(name)
    for path in chart_paths[name]:
        start = path.start(loaded.model_class)
        # a fresh model, or a seed of the chart (the station's start at work)
        assert path.steps[0].source == start.state
        assert path.seed is not None or start.state == loaded.initial
        check_path(path, start)


@pytest.mark.parametrize("name", NAMES)
def test_armed_timers_can_always_fire_in_the_current_state(
    name: str, chart_paths: dict[str, list[Path]]
) -> None:
    """A timer left armed in a state that ignores it would be a stray event later."""
    loaded = chart(name)
    for path in chart_paths[name]:
        armed: set[str] = set()
        for step in path.steps:
            if loaded.spec.trigger(step.trigger).is_timer:
                armed.discard(step.trigger)
            for effect in step.effects:
                if isinstance(effect, StartTimer):
                    armed.add(effect.name)
                elif isinstance(effect, CancelTimer):
                    armed.discard(effect.name)
            allowed = set(loaded.allowed_triggers(step.state))
            assert armed <= allowed, f"{path}: {armed - allowed} armed in {step.state}"


def test_a_replay_that_diverges_is_reported_at_its_step(chart_paths: dict[str, list[Path]]) -> None:
    path = next(p for p in chart_paths["connector"] if p.steps[-1].label == "I3")
    model = chart("connector").model_class.example()
    model.state = "Unavailable"  # not where the path starts
    with pytest.raises(PathMismatch, match=r"connector step 1 .*"):
        check_path(path, model)


@pytest.mark.parametrize("name", ["connector", "connector0"])
def test_connector_paths_send_the_status_notification_of_each_status_change(
    name: str, chart_paths: dict[str, list[Path]]
) -> None:
    """A status change sends exactly one StatusNotification with the new status; no change, none.

    The one exception is another fault while Faulted, which reports its new error code.
    """
    loaded = chart(name)
    for path in chart_paths[name]:
        model = path.start(loaded.model_class)
        for step, outcome, effects in replay(path, model):
            sent = [e for e in effects if isinstance(e, SendStatusNotification)]
            if step.source != step.state:
                assert [(e.connector_id, e.status) for e in sent] == [
                    (model.connector_id, step.state)
                ]
            elif step.label == "N12":
                assert [(e.status, e.error_code) for e in sent] == [
                    ("Faulted", step.params["error_code"])
                ]
            else:
                assert sent == [], f"{path}: {outcome} sent {sent}"
            if step.state == "Faulted":
                assert all(e.error_code != "NoError" for e in sent)
            else:
                assert all(e.error_code == "NoError" for e in sent)


@pytest.mark.parametrize("name", NAMES)
def test_a_timer_fires_only_after_its_path_armed_it(
    name: str, chart_paths: dict[str, list[Path]]
) -> None:
    """A timer an actor never armed never fires: the paths do not pretend it does."""
    loaded = chart(name)
    for path in chart_paths[name]:
        armed: set[str] = set()
        for step in path.steps:
            if loaded.spec.trigger(step.trigger).is_timer:
                assert step.trigger in armed, f"{path}: {step.trigger} fires unarmed"
                armed.discard(step.trigger)
            for effect in step.effects:
                if isinstance(effect, StartTimer):
                    armed.add(effect.name)
                elif isinstance(effect, CancelTimer):
                    armed.discard(effect.name)


def test_the_station_paths_start_from_its_seeds(chart_paths: dict[str, list[Path]]) -> None:
    """The joint table's situations lie far apart: its paths start at work, resetting and
    rebooting too, each from one of the model's seeds."""
    station = chart("station")
    seeds = {model.snapshot() for model in station.model_class.seeds()}
    paths = chart_paths["station"]
    assert all(path.seed is not None and path.seed.snapshot() in seeds for path in paths)
    starts = {path.steps[0].source for path in paths}
    assert starts == {"Recovering", "Running", "Resetting", "Rebooting"}
    assert max(len(path.steps) for path in paths) <= 3
