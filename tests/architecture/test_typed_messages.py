"""Events between actors are typed classes sent to typed addresses: no `Trigger(name, params)`
and no address strings ("transaction/1", "link") anywhere in src/chargebox."""

from __future__ import annotations

from tests.architecture.untyped_messages import untyped, untyped_in


def test_no_untyped_messages_or_address_strings_in_the_sources():
    found = untyped()
    listed = "\n".join(f"  {item}" for item in found)
    assert not found, (
        "an event for an actor is a class of chargebox.charts.events sent to a "
        f"chargebox.charts.addresses.Address, not a Trigger or a string:\n{listed}"
    )


def test_the_scan_finds_triggers_and_address_strings(tmp_path):
    module = tmp_path / "sample.py"
    module.write_text(
        "from chargebox.charts.effects import Trigger\n"  # 1
        "async def f(actors, c, Send):\n"
        "    await actors.deliver('link', Trigger('close'))\n"  # 3: deliver, Trigger
        "    await actors.settle(f'transaction/{c}')\n"  # 4: settle, the address string
        "    effect = Send('station', None)\n"  # 5
        "    where = 'reservation/0'\n"  # 6
        "    note = f'connector {c} is free'\n"  # not an address
        "    context = ReadingContext.Trigger\n"  # an OCPP enum member
        "    effects.Trigger('x')\n"  # 9
        "    return actors.ask(actors.address, 'link')\n",  # the event is not the address
        encoding="utf-8",
    )
    lines = sorted({item.line for item in untyped_in(module)})
    assert lines == [1, 3, 4, 5, 6, 9]
