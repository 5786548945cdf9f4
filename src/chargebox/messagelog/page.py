"""The HTML message log: one self-contained page, a table row per frame or connection event.

The page is written as it goes: the header (inline style and script, no
external asset) when the file is begun, one `<tr>` per entry, and the closing
tags only when the file is closed or rotated. A page whose writer died has no
closing tags; HTML parsers close the open elements at the end of the file, so
it still shows every row written. The filter script runs on DOMContentLoaded,
which fires at the end of the file either way.

Everything that comes from outside (payloads, actions, ids, reasons) is escaped
with `html.escape`, so a payload holding `<script>` or `</td></table>` is text;
control characters are shown as `\\x1b` and the like.
"""

from __future__ import annotations

from datetime import datetime
from html import escape

from chargebox.ocpp.timestamps import format_datetime

from .entry import Direction, Entry, MessageType
from .text import block, one_line

# The closing tags begin with this comment, so that a page continued by a later run
# can find them and cut them off (see `footer_cut`).
FOOTER_MARK = "<!-- chargebox: end of log -->"

_STYLE = """
:root { color-scheme: light; font-family: system-ui, sans-serif; font-size: 14px; }
body { margin: 0; color: #1d1d1f; background: #fafafa; }
header { padding: 12px 16px; background: #1f3a5f; color: #fff; }
header h1 { margin: 0 0 4px; font-size: 18px; }
header p { margin: 0 0 8px; }
#filters label { margin-right: 16px; }
#filters select { font: inherit; }
#filter-count { font-style: italic; }
table { border-collapse: collapse; width: 100%; }
th, td { border-bottom: 1px solid #d8d8d8; padding: 4px 8px; vertical-align: top;
  text-align: left; }
thead th { position: sticky; top: 0; background: #e9edf2; z-index: 1; }
td.time, td.id { font-family: ui-monospace, monospace; white-space: nowrap; }
td.id { font-size: 12px; color: #555; }
tr.out { background: #fff8e6; }
tr.in { background: #eaf3ff; }
tr.sys { background: #eeeeee; color: #333; }
tr.CALLERROR td.type, tr.invalid td.type { color: #b00020; font-weight: bold; }
td.action { font-weight: 600; }
.detail { color: #b00020; margin-bottom: 4px; white-space: pre-wrap; }
pre { margin: 0; font-family: ui-monospace, monospace; font-size: 12px; white-space: pre-wrap;
  word-break: break-all; max-height: 24em; overflow: auto; }
footer { padding: 8px 16px; color: #555; }
"""

# Filters rows by direction, action and message type; the action list is built from the
# rows themselves. Options are filled with textContent, never innerHTML.
_SCRIPT = """
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var rows = Array.from(document.querySelectorAll("#log > tbody > tr"));
  var direction = document.getElementById("filter-direction");
  var action = document.getElementById("filter-action");
  var type = document.getElementById("filter-type");
  var count = document.getElementById("filter-count");
  var actions = new Set();
  rows.forEach(function (row) {
    if (row.dataset.dir !== "sys" && row.dataset.action) { actions.add(row.dataset.action); }
  });
  Array.from(actions).sort().forEach(function (name) {
    var option = document.createElement("option");
    option.value = name;
    option.textContent = name;
    action.appendChild(option);
  });
  function apply() {
    var shown = 0;
    rows.forEach(function (row) {
      var visible = (!direction.value || row.dataset.dir === direction.value) &&
        (!action.value || row.dataset.action === action.value) &&
        (!type.value || row.dataset.type === type.value);
      row.hidden = !visible;
      if (visible) { shown += 1; }
    });
    count.textContent = shown + " of " + rows.length + " rows shown";
  }
  [direction, action, type].forEach(function (select) {
    select.addEventListener("change", apply);
  });
  apply();
});
"""

_TYPES = ("CALL", "CALLRESULT", "CALLERROR", "invalid", "event")


def header(charge_point_id: str, started: datetime, subtitle: str = "") -> str:
    """The beginning of a page, up to the open table body."""
    cp = escape(charge_point_id)
    what = f" · {escape(subtitle)}" if subtitle else ""
    types = "".join(f'<option value="{t}">{t}</option>' for t in _TYPES)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<link rel="icon" href="data:,">\n'
        f"<title>OCPP messages of {cp}{what}</title>\n"
        f"<style>{_STYLE}</style>\n<script>{_SCRIPT}</script>\n</head>\n<body>\n"
        "<header>\n<h1>OCPP 1.6J message log</h1>\n"
        f'<p>Charge point <strong id="charge-point">{cp}</strong>{what} · page started '
        f'<time id="started">{format_datetime(started)}</time> (UTC)</p>\n'
        '<div id="filters">'
        '<label>Direction <select id="filter-direction"><option value="">all</option>'
        '<option value="out">CP→CSMS</option><option value="in">CSMS→CP</option>'
        '<option value="sys">connection events</option></select></label>'
        '<label>Action <select id="filter-action"><option value="">all</option></select></label>'
        f'<label>Type <select id="filter-type"><option value="">all</option>{types}'
        '</select></label><output id="filter-count"></output></div>\n'
        "</header>\n"
        '<table id="log">\n<thead><tr><th>Time (UTC)</th><th>Direction</th><th>Type</th>'
        "<th>Action</th><th>Message id</th><th>Message</th></tr></thead>\n<tbody>\n"
    )


def footer(closed: datetime) -> str:
    """The closing tags of a page."""
    return (
        f"{FOOTER_MARK}\n</tbody>\n</table>\n"
        f'<footer>Log closed at <time id="closed">{format_datetime(closed)}</time> (UTC).'
        "</footer>\n</body>\n</html>\n"
    )


def footer_cut(tail: bytes) -> int:
    """How many bytes to cut from the end of an existing page to reopen its table.

    0 when the page has no footer (its writer died): rows are appended as they are.
    """
    mark = tail.rfind(FOOTER_MARK.encode())
    return len(tail) - mark if mark >= 0 else 0


def _line(text: str) -> str:
    return escape(one_line(text))


def row(entry: Entry) -> str:
    """The table row of one entry, escaped."""
    time = format_datetime(entry.time)
    action = _line(entry.action)
    message = escape(block(entry.body))
    if entry.direction is Direction.SYS:
        return (
            f'<tr class="sys" data-dir="sys" data-type="event" data-action="{action}">'
            f'<td class="time">{time}</td><td class="dir">connection</td>'
            f'<td class="type">event</td><td class="action">{action}</td><td class="id"></td>'
            f"<td><pre>{message}</pre></td></tr>\n"
        )
    # an answer whose CALL was not seen (the log began after it) shows "?"
    shown_action = action if action or entry.message_type is MessageType.INVALID else "?"
    detail = f'<div class="detail">{_line(entry.detail)}</div>' if entry.detail else ""
    kind = entry.message_type.value
    direction = entry.direction.value
    return (
        f'<tr class="{direction} {kind}" data-dir="{direction}" '
        f'data-type="{kind}" data-action="{action}">'
        f'<td class="time">{time}</td><td class="dir">{entry.direction.label}</td>'
        f'<td class="type">{kind}</td><td class="action">{shown_action}</td>'
        f'<td class="id">{_line(entry.message_id)}</td>'
        f"<td>{detail}<pre>{message}</pre></td></tr>\n"
    )
