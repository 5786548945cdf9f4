"""The page in a real browser: headless Chromium loads it (finished, and still being written)
with no console error, runs no script from a payload, and filters rows.

Skipped when Debian's chromium (/usr/bin/chromium) is not installed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from chargebox.messagelog import LogSettings, MessageLog

from .browser import CHROMIUM, Chromium
from .support import XSS, TickingClock, run_session

pytestmark = [
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="browser test skipped: /usr/bin/chromium is not installed "
        "(Debian: apt-get install chromium)",
    ),
    pytest.mark.slow,
]
pytest.importorskip("websockets.sync.client", reason="browser test needs the websockets package")


@pytest.fixture(scope="module")
def chromium():
    with Chromium() as browser:
        yield browser


ROWS = "document.querySelectorAll('#log > tbody > tr')"
VISIBLE = f"Array.from({ROWS}).filter(r => !r.hidden).length"


def choose(browser: Chromium, select: str, value: str) -> int:
    """Pick `value` in the filter `select`; the number of rows left visible."""
    return browser.evaluate(
        f"(() => {{ const s = document.getElementById('{select}'); s.value = {value!r};"
        f" s.dispatchEvent(new Event('change')); return {VISIBLE}; }})()"
    )


def test_the_finished_page_loads_without_error_and_filters(tmp_path: Path, chromium: Chromium):
    settings = LogSettings(formats=["html"])
    with MessageLog(tmp_path, settings, "CP-1", TickingClock()) as log:
        expected = run_session(log)
    chromium.load((tmp_path / "CP-1.html").as_uri())
    assert chromium.problems() == []
    total = len(expected) + 1  # and "log closed"
    assert chromium.evaluate(f"{ROWS}.length") == total
    assert chromium.evaluate("document.getElementById('charge-point').textContent") == "CP-1"
    # no script but the page's own ran or exists; the payload is text in its cell
    assert chromium.evaluate("document.scripts.length") == 1
    assert chromium.evaluate("document.images.length") == 0
    cells = chromium.evaluate(f"Array.from({ROWS}, r => r.lastElementChild.textContent)")
    assert any(XSS in cell for cell in cells)
    # filters: by action (the CALL and its answer), by direction, by type, then all again
    actions = chromium.evaluate(
        "Array.from(document.getElementById('filter-action').options, o => o.value)"
    )
    assert actions[0] == "" and "BootNotification" in actions and "connected" not in actions
    assert choose(chromium, "filter-action", "BootNotification") == 2
    assert choose(chromium, "filter-direction", "in") == 1
    assert choose(chromium, "filter-action", "") == sum(e.direction == "in" for e in expected)
    assert choose(chromium, "filter-direction", "sys") == 5
    assert choose(chromium, "filter-direction", "") == total
    assert choose(chromium, "filter-type", "CALLERROR") == 1
    assert chromium.evaluate("document.getElementById('filter-count').textContent") == (
        f"1 of {total} rows shown"
    )
    assert chromium.problems() == []


def test_a_page_still_being_written_loads_without_error(tmp_path: Path, chromium: Chromium):
    settings = LogSettings(formats=["html"])
    log = MessageLog(tmp_path, settings, "CP-1", TickingClock())
    expected = run_session(log)
    try:
        chromium.load((tmp_path / "CP-1.html").as_uri())
        assert chromium.problems() == []
        assert chromium.evaluate(f"{ROWS}.length") == len(expected)
        assert chromium.evaluate("document.getElementById('filter-count').textContent") == (
            f"{len(expected)} of {len(expected)} rows shown"
        )
    finally:
        log.close()


def test_a_page_cut_in_the_middle_of_a_row_loads_without_error(tmp_path: Path, chromium: Chromium):
    settings = LogSettings(formats=["html"])
    log = MessageLog(tmp_path, settings, "CP-1", TickingClock())
    expected = run_session(log)
    log.close()
    path = tmp_path / "CP-1.html"
    data = path.read_bytes()
    cut = data.rfind(b"<tr")  # "log closed" row and footer
    cut = data.rfind(b"<pre>", 0, cut) + 30  # inside the last frame's JSON
    path.write_bytes(data[:cut])
    chromium.load(path.as_uri())
    assert chromium.problems() == []
    assert chromium.evaluate(f"{ROWS}.length") == len(expected)
