"""The HTML message log is one self-contained page: nothing is fetched from anywhere.

The page of a whole session (and of a charging session) is parsed with
html.parser; every attribute that can load something, every `url()` and
`@import` of its styles and every script is inspected. The only references
allowed are `data:` URIs and fragments of the page itself; the only script is
the page's own inline filter script.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from chargebox.messagelog import LogSettings, MessageLog

from .support import XSS, TickingClock, call, run_session

# Attributes through which a browser loads or navigates to something.
URL_ATTRIBUTES = frozenset(
    {
        "src",
        "href",
        "srcset",
        "action",
        "formaction",
        "poster",
        "data",
        "background",
        "cite",
        "codebase",
        "longdesc",
        "manifest",
        "ping",
        "xlink:href",
    }
)
# Elements that embed another document or resource whatever their attributes say.
EMBEDDING = frozenset({"iframe", "frame", "object", "embed", "applet", "base", "portal"})
CSS_URL = re.compile(r"url\(\s*(['\"]?)(.*?)\1\s*\)", re.I | re.S)
CSS_IMPORT = re.compile(r"@import\b", re.I)
# What an inline script would need to load something at run time.
SCRIPT_LOADS = re.compile(
    r"\bfetch\s*\(|XMLHttpRequest|\bimport\s*\(|importScripts|WebSocket|EventSource|"
    r"sendBeacon|\.src\s*=|\.href\s*=|https?:",
)


def _local(value: str) -> bool:
    """A reference that stays inside the page: a data: URI or a #fragment."""
    value = value.strip().lower()
    return value.startswith("data:") or value.startswith("#")


class ReferenceFinder(HTMLParser):
    """Every way the page could reach outside itself, and its scripts."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.external: list[str] = []  # what would be fetched, one line each
        self.scripts: list[dict[str, str | None]] = []  # the attributes of each <script>
        self.script_text: list[str] = []
        self.styles = 0
        self.data_images = 0
        self._in: str | None = None  # "script" or "style" while inside one

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {name.lower(): value or "" for name, value in attrs}
        if tag in EMBEDDING:
            self.external.append(f"<{tag}> element")
        for name, value in a.items():
            if name in URL_ATTRIBUTES and not _local(value):
                self.external.append(f"<{tag} {name}={value!r}>")
            if name == "style":
                self._check_css(f"<{tag} style>", value)
        if tag == "link" and "stylesheet" in a.get("rel", "").lower().split():
            self.external.append(f"<link rel=stylesheet href={a.get('href')!r}>")
        if tag == "img" and _local(a.get("src", "")):
            self.data_images += 1
        if tag == "meta" and a.get("http-equiv", "").lower() == "refresh":
            self.external.append(f"<meta http-equiv=refresh content={a.get('content')!r}>")
        if tag == "script":
            self.scripts.append(a)
            self.script_text.append("")
            self._in = "script"
        elif tag == "style":
            self.styles += 1
            self._in = "style"

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag in ("script", "style"):
            self._in = None

    def handle_endtag(self, tag: str) -> None:
        if tag == self._in:
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "script":
            self.script_text[-1] += data
        elif self._in == "style":
            self._check_css("<style>", data)

    def _check_css(self, where: str, css: str) -> None:
        for match in CSS_URL.finditer(css):
            if not _local(match.group(2)):
                self.external.append(f"{where} url({match.group(2)})")
        if CSS_IMPORT.search(css):
            self.external.append(f"{where} @import")


def references(page: str) -> ReferenceFinder:
    finder = ReferenceFinder()
    finder.feed(page)
    finder.close()
    return finder


def assert_self_contained(path: Path) -> None:
    found = references(path.read_text(encoding="utf-8"))
    assert found.external == [], f"{path.name} reaches outside itself: {found.external}"
    # exactly one script, inline (no src), and it loads nothing at run time
    assert len(found.scripts) == 1, found.scripts
    assert "src" not in found.scripts[0]
    assert found.script_text[0].strip(), "the filter script is inline"
    assert not SCRIPT_LOADS.search(found.script_text[0]), SCRIPT_LOADS.search(found.script_text[0])
    assert found.styles == 1  # the look is inline too


def test_the_page_of_a_session_references_nothing_outside_itself(tmp_path: Path):
    settings = LogSettings(formats=["html", "session_logging"])
    with MessageLog(tmp_path / "log", settings, "CP-1", TickingClock()) as log:
        run_session(log, session_folder=tmp_path / "session")
        # payloads that name remote and local resources stay text
        log.frame(
            "in",
            call(
                "d9",
                "DataTransfer",
                {
                    "vendorId": "com.example",
                    "data": '<link rel="stylesheet" href="https://cdn.example.com/x.css">'
                    '<img src="file:///etc/passwd"><iframe src="//evil.example"></iframe>'
                    "<style>@import url(http://x.example/a.css)</style>"
                    '<script src="https://x.example/a.js"></script>' + XSS,
                },
            ),
        )
        log.connection("disconnected", 'code 1000, <a href="http://example.com/">bye</a>')
    for page in (tmp_path / "log" / "CP-1.html", tmp_path / "session" / "ocpp.html"):
        assert_self_contained(page)


def test_a_page_still_being_written_is_self_contained(tmp_path: Path):
    log = MessageLog(tmp_path, LogSettings(formats=["html"]), "CP-1", TickingClock())
    run_session(log)
    assert_self_contained(tmp_path / "CP-1.html")  # no footer yet: as after a crash
    log.close()


@pytest.mark.parametrize(
    ("fragment", "reason"),
    [
        ('<link rel="stylesheet" href="style.css">', "<link rel=stylesheet"),
        ('<link rel="icon" href="https://example.com/favicon.ico">', "<link href="),
        ('<img src="https://example.com/a.png">', "<img src="),
        ('<img src="//example.com/a.png">', "<img src="),
        ('<img src="pictures/a.png">', "<img src="),
        ('<a href="file:///etc/passwd">x</a>', "<a href="),
        ('<div style="background: url(https://example.com/a.png)"></div>', "url("),
        ("<style>body { background: url('/a.png') }</style>", "url("),
        ("<style>@import 'x.css';</style>", "@import"),
        ('<iframe srcdoc="x"></iframe>', "<iframe> element"),
        ('<base href="https://example.com/">', "<base> element"),
        ('<meta http-equiv="refresh" content="0; url=https://example.com">', "refresh"),
    ],
)
def test_the_finder_sees_each_kind_of_external_reference(fragment: str, reason: str):
    # the check above would pass for a finder that saw nothing: this one must see them
    found = references(f"<!DOCTYPE html><html><head></head><body>{fragment}</body></html>")
    assert any(reason in line for line in found.external), (fragment, found.external)
    fine = references('<link rel="icon" href="data:,"><img src="data:image/png;base64,AAAA">')
    assert fine.external == [] and fine.data_images == 1


def test_a_second_or_remote_script_is_seen(tmp_path: Path):
    page = tmp_path / "bad.html"
    page.write_text(
        "<html><head><style></style><script>var a = 1;</script>"
        '<script src="https://example.com/x.js"></script></head></html>'
    )
    with pytest.raises(AssertionError, match="reaches outside itself"):
        assert_self_contained(page)
    page.write_text(
        "<html><head><style></style><script>fetch('https://example.com/x')</script></head></html>"
    )
    with pytest.raises(AssertionError):
        assert_self_contained(page)
