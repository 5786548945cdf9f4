"""Websocket frames: one OCPP message written and read, by wsproto and by wsframes.DirectFrames.

For each message (a Heartbeat CALL, and the MeterValues CALL of bench_protocol.py
with 9 sampled values), in one run, side by side:
  written   Connection.send(TextMessage) on the client's side (masked: the
            station's CALLs) and on the server's (unmasked: the CSMS's answers)
  read      receive_data(frame) and the events, on the server's side (a masked
            frame, as the CSMS reads the station's) and on the client's (unmasked)
The same frames go through a plain wsproto Connection and through one given the
class DirectFrames; the ratio is wsproto's time over DirectFrames'.

Run: python bench/bench_frames.py [--seconds S]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import timeit
from collections.abc import Callable

import orjson
from bench_protocol import PAYLOAD
from wsproto.connection import Connection, ConnectionType
from wsproto.events import TextMessage

from chargebox.wsframes import DirectFrames

MESSAGES = {
    "Heartbeat": '[2,"19223201","Heartbeat",{}]',
    "MeterValues": orjson.dumps([2, "19223202", "MeterValues", PAYLOAD]).decode(),
}


def connection(client: bool, direct: bool) -> Connection:
    made = Connection(ConnectionType.CLIENT if client else ConnectionType.SERVER)
    if direct:
        made.__class__ = DirectFrames
    return made


def cases(text: str, direct: bool) -> dict[str, Callable[[], object]]:
    event = TextMessage(data=text)
    client, server = connection(True, direct), connection(False, direct)
    masked = bytes(Connection(ConnectionType.CLIENT).send(event))
    unmasked = bytes(Connection(ConnectionType.SERVER).send(event))

    def read(side: Connection, frame: bytes) -> Callable[[], object]:
        def run() -> object:
            side.receive_data(frame)
            (got,) = side.events()
            return got

        return run

    return {
        "written, masked (client)": lambda: client.send(event),
        "written, unmasked (server)": lambda: server.send(event),
        "read, masked (server)": read(server, masked),
        "read, unmasked (client)": read(client, unmasked),
    }


def median_us(fn: Callable[[], object], seconds: float) -> float:
    timer = timeit.Timer(fn)
    number, _ = timer.autorange()
    repeat = max(3, int(seconds / max(timer.timeit(number), 1e-9)))
    return 1e6 * statistics.median(timer.repeat(repeat=min(repeat, 15), number=number)) / number


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0)
    args = parser.parse_args()
    for text in MESSAGES.values():  # both classes read the same events: checked first
        plain, direct = cases(text, False), cases(text, True)
        for part in ("read, masked (server)", "read, unmasked (client)"):
            assert plain[part]() == direct[part](), part
    print(f"python {sys.version.split()[0]}; us per frame, medians")
    print(f"{'message':<12} {'path':<28} {'wsproto':>8} {'direct':>8} {'ratio':>7}")
    for name, text in MESSAGES.items():
        plain, direct = cases(text, False), cases(text, True)
        for part in plain:
            a = median_us(plain[part], args.seconds)
            b = median_us(direct[part], args.seconds)
            print(f"{name:<12} {part:<28} {a:>8.2f} {b:>8.2f} {a / b:>6.1f}x")
        print(f"{'':<12} ({len(text.encode())} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
