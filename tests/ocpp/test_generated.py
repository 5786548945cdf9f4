"""The generated modules are current, and the protocol layer does no I/O."""

from __future__ import annotations

import subprocess
import sys

from chargebox.ocpp import _generate


def test_generated_modules_match_the_schemas():
    stale = [
        str(path.name)
        for path, text in _generate.build_all().items()
        if not path.exists() or path.read_text(encoding="utf-8") != text
    ]
    assert not stale, (
        f"generated files are stale: {stale}; run `python -m chargebox.ocpp._generate`"
    )


def test_the_protocol_layer_is_sans_io():
    code = (
        "import sys\n"
        "import chargebox.ocpp, chargebox.ocpp.rpc, chargebox.ocpp.frames, chargebox.ocpp.pnc\n"
        "bad = sorted(m for m in ('trio', 'trio_websocket', 'socket', 'ssl', 'asyncio', 'sqlite3')"
        " if m in sys.modules)\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"chargebox.ocpp imports {out.stdout.strip()}"
