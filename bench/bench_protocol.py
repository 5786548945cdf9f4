"""Protocol layer: decode+validate and encode of a MeterValues CALL with 9 sampled values.

Measured in one run, side by side, for each direction and the round trip:
  chargebox   frames.parse + rpc.decode_call (schema checks, typed objects)
              and rpc.call + frames.serialize (typed objects back, schema checks);
              then its parts: the frame layer alone, codec.decode, codec.encode
  ocpp        the `ocpp` package's path for the same frame: unpack, its jsonschema
              validation, camelCase->snake_case and its dataclass; then back:
              dataclass->dict, snake->camel, remove_nones, Call, validation, to_json
  json only   orjson.loads + orjson.dumps of the frame: the floor, no checks at all
The ratio is the `ocpp` package's time over chargebox's, from the same run.

Run: python bench/bench_protocol.py [--seconds S]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import timeit

import orjson

from chargebox.ocpp import codec, frames, rpc
from chargebox.ocpp.v16 import MeterValuesRequest

PAYLOAD = {
    "connectorId": 1,
    "transactionId": 42,
    "meterValue": [
        {
            "timestamp": "2024-05-01T12:00:00.000Z",
            "sampledValue": [
                {
                    "value": "12345.6",
                    "context": "Sample.Periodic",
                    "measurand": "Energy.Active.Import.Register",
                    "unit": "Wh",
                    "location": "Outlet",
                },
                *[
                    {
                        "value": "230.1",
                        "context": "Sample.Periodic",
                        "measurand": "Voltage",
                        "phase": phase,
                        "unit": "V",
                        "location": "Outlet",
                    }
                    for phase in ("L1-N", "L2-N", "L3-N")
                ],
                *[
                    {
                        "value": "16.0",
                        "context": "Sample.Periodic",
                        "measurand": "Current.Import",
                        "phase": phase,
                        "unit": "A",
                        "location": "Outlet",
                    }
                    for phase in ("L1", "L2", "L3")
                ],
                {
                    "value": "11040",
                    "context": "Sample.Periodic",
                    "measurand": "Power.Active.Import",
                    "unit": "W",
                    "location": "Outlet",
                },
                {
                    "value": "55",
                    "context": "Sample.Periodic",
                    "measurand": "SoC",
                    "unit": "Percent",
                    "location": "EV",
                },
            ],
        }
    ],
}
FRAME = orjson.dumps([2, "19223201", "MeterValues", PAYLOAD]).decode()
assert len(PAYLOAD["meterValue"][0]["sampledValue"]) == 9


def chargebox_decode():
    frame = frames.parse(FRAME)
    return frame, rpc.decode_call(frame)[1]


_, REQUEST = chargebox_decode()


def chargebox_encode():
    return frames.serialize(rpc.call(REQUEST, "19223201"))


def chargebox_both():
    frame, request = chargebox_decode()
    return frames.serialize(rpc.call(request, frame.unique_id))


def ocpp_package():
    """The functions of the `ocpp` package that its ChargePoint runs for this frame."""
    from ocpp.charge_point import (
        camel_to_snake_case,
        remove_nones,
        serialize_as_dict,
        snake_to_camel_case,
    )
    from ocpp.messages import Call, _validate_payload, unpack
    from ocpp.v16 import call

    def decode():
        msg = unpack(FRAME)
        _validate_payload(msg, "1.6")
        return msg, call.MeterValues(**camel_to_snake_case(msg.payload))

    msg, req = decode()

    def encode():
        payload = remove_nones(snake_to_camel_case(serialize_as_dict(req)))
        out = Call(unique_id=msg.unique_id, action="MeterValues", payload=payload)
        _validate_payload(out, "1.6")
        return out.to_json()

    def both():
        m, r = decode()
        payload = remove_nones(snake_to_camel_case(serialize_as_dict(r)))
        out = Call(unique_id=m.unique_id, action="MeterValues", payload=payload)
        _validate_payload(out, "1.6")
        return out.to_json()

    return decode, encode, both


def json_only():
    return orjson.dumps(orjson.loads(FRAME)).decode()


# The parts of the chargebox round trip, to see where its time goes.
_PAYLOAD = orjson.loads(FRAME)[3]
_FRAME = frames.parse(FRAME)


def chargebox_frames():
    return frames.serialize(frames.parse(FRAME))


def chargebox_codec_decode():
    return codec.decode(MeterValuesRequest, _PAYLOAD)


def chargebox_codec_encode():
    return codec.encode(REQUEST)


REPEATS = 7


def median_us(fn, seconds: float) -> float:
    """Median of REPEATS timings, together about `seconds` long: microseconds per call."""
    timer = timeit.Timer(fn)
    n, _ = timer.autorange()
    n = max(1, int(n * (seconds / REPEATS) / 0.2))
    return statistics.median(timer.repeat(repeat=REPEATS, number=n)) / n * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    args = parser.parse_args()

    # both paths must read and write the same message
    assert orjson.loads(chargebox_both()) == orjson.loads(FRAME)
    o_decode, o_encode, o_both = ocpp_package()
    assert orjson.loads(o_both()) == orjson.loads(FRAME)

    rows = [
        ("decode+validate", chargebox_decode, o_decode),
        ("encode+validate", chargebox_encode, o_encode),
        ("decode+validate+encode", chargebox_both, o_both),
    ]
    parts = [
        ("  frames parse+serialize", chargebox_frames),
        ("  codec.decode", chargebox_codec_decode),
        ("  codec.encode", chargebox_codec_encode),
    ]
    from importlib.metadata import version

    print(
        f"MeterValues CALL, 9 sampled values, {len(FRAME)} bytes; python {sys.version.split()[0]}; "
        f"median of {REPEATS} repeats"
    )
    ocpp_head = f"ocpp {version('ocpp')} us"
    print(f"{'path':<26} {'chargebox us':>13} {ocpp_head:>14} {'ratio':>7}")
    for name, ours, theirs in rows:
        us, them = median_us(ours, args.seconds), median_us(theirs, args.seconds)
        print(f"{name:<26} {us:>13.1f} {them:>14.1f} {them / us:>6.1f}x")
    print("chargebox, by part:")
    for name, fn in parts:
        print(f"{name:<26} {median_us(fn, args.seconds):>13.1f}")
    floor = median_us(json_only, args.seconds)
    print(f"{'json only (no checks)':<26} {floor:>13.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
