"""What the interop tests share: the station's configuration and its scripted session."""

from __future__ import annotations

import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SEED = REPO / "config" / "ocpp-config.json"
#: 16 bytes as hex pairs: the HTTP Basic password is the bytes (security whitepaper)
AUTHORIZATION_KEY = "00112233445566778899aabbccddeeff"
SAMPLED = (
    "Energy.Active.Import.Register,Power.Active.Import,Current.Import,Voltage,SoC,"
    "Current.Offered,Power.Offered"
)

# a local session by RFID, then the remote session the Central System starts and
# stops (--auto plugs the EV in and takes it away)
SCRIPT = """\
wait-online 20
plug 1
rfid LOCAL-1 1
wait 1 Charging 20
sleep 2
rfid LOCAL-1 1
wait 1 Finishing 20
unplug 1
wait 1 Available 20
wait 1 Charging 30
wait 1 Available 30
quit
"""


def station_config(folder: Path, charge_point_id: str = "INTEROP-1") -> Path:
    """The seed's configuration: profile 1 with a 16-byte key, rich sampled data, 1 s samples."""
    document = json.loads(SEED.read_text())
    document["Internal"]["ChargePointId"] = charge_point_id
    document["Security"]["SecurityProfile"] = 1
    document["Security"]["AuthorizationKey"] = AUTHORIZATION_KEY
    core = document["Core"]
    core["WebSocketPingInterval"] = core.pop("WebsocketPingInterval", 0)
    core["ClockAlignedDataInterval"] = 0
    core["MeterValueSampleInterval"] = 1
    core["MeterValuesSampledData"] = SAMPLED
    core["StopTxnSampledData"] = "Energy.Active.Import.Register,Power.Active.Import"
    path = folder / "ocpp-config.json"
    path.write_text(json.dumps(document, indent=2))
    script = folder / "session.txt"
    script.write_text(SCRIPT)
    return path
