"""No model is changed from outside its actor: no state assigned, no model attribute set, no
effects performed by handlers (the charts' transitions change models, their actors perform)."""

from __future__ import annotations

from tests.architecture.model_writes import model_writes, model_writes_in


def test_no_model_is_changed_from_outside_its_actor():
    found = model_writes()
    listed = "\n".join(f"  {item}" for item in found)
    assert not found, (
        f"{len(found)} changes of a chart model from outside its actor; send the actor an "
        f"event its chart takes instead:\n{listed}"
    )


def test_the_scan_finds_state_model_and_perform_writes(tmp_path):
    module = tmp_path / "sample.py"
    module.write_text(
        "def f(tx, actor, effect):\n"
        "    tx.model.state = 'Active'\n"  # 2
        "    tx.model.meter_start = 0\n"  # 3
        "    actor.model = None\n"  # 4
        "    actor.perform(effect)\n"  # 5
        "    tx.meter_start = 0\n"  # not a model
        "    self.model.ready = True\n"  # 7: only an actor may set up its own model
        "    self.state = {}\n"  # an object's own attribute
        "    model.state = 'Idle'\n"  # 9
    )
    assert [w.line for w in model_writes_in(module, in_actors=False)] == [2, 3, 4, 5, 7, 9]
    # in chargebox/actors/: the actor's own model may be set up, effects performed there;
    # another's model and any state stay forbidden
    assert [w.line for w in model_writes_in(module, in_actors=True)] == [2, 3, 4, 9]
