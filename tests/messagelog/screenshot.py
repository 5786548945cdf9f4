"""Make docs/img/message-log.png: the sample session's page in headless Chromium.

    python -m tests.messagelog.screenshot [OUTPUT.png]

Needs /usr/bin/chromium (Debian: apt-get install chromium) and websockets.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from chargebox.messagelog import LogSettings, MessageLog

from .browser import Chromium
from .support import TickingClock, run_session

REPO = Path(__file__).resolve().parents[2]


def main(argv: list[str]) -> int:
    output = Path(argv[0]) if argv else REPO / "docs" / "img" / "message-log.png"
    with tempfile.TemporaryDirectory() as folder:
        with MessageLog(Path(folder), LogSettings(formats=["html"]), "CP-1", TickingClock()) as log:
            run_session(log)
        with Chromium() as browser:
            browser.load((Path(folder) / "CP-1.html").as_uri(), width=1280, height=860)
            if browser.problems():
                print("\n".join(browser.problems()), file=sys.stderr)
                return 1
            # the filter at work on the rows that matter most: a payload with HTML and
            # script shown as text, a password and a private key redacted, a CALLERROR
            browser.evaluate(
                "(() => { const s = document.getElementById('filter-action');"
                " s.value = 'DataTransfer'; s.dispatchEvent(new Event('change')); })()"
            )
            output.parent.mkdir(parents=True, exist_ok=True)
            browser.screenshot(output)
    print(output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
