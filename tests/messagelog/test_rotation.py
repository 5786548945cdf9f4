"""Rotation: at most N files of at most M bytes per log, newest in the file being written;
HTML rotated into complete pages."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from chargebox.messagelog import LogSettings, MessageLog, Rotation

from .support import TickingClock, call, read_page, result

ALL_FILES = ["log", "html", "security"]


def heartbeats(log: MessageLog, count: int) -> list[str]:
    """Send `count` Heartbeat CALLs and their answers; their message ids."""
    ids = []
    for n in range(count):
        mid = f"hb-{n:04d}"
        log.frame("out", call(mid, "Heartbeat", {}))
        log.frame("in", result(mid, {"currentTime": "2024-05-01T12:00:00.000Z"}))
        log.security_event("SettingSystemTime", f"event {n}")
        ids.append(mid)
    return ids


def files_of(folder: Path, stem: str, suffix: str) -> list[Path]:
    pattern = re.compile(re.escape(stem) + r"(\.\d+(-\d+)?)?" + re.escape(suffix))
    return sorted(p for p in folder.iterdir() if pattern.fullmatch(p.name))


def numbered_oldest_first(folder: Path, stem: str, suffix: str) -> list[Path]:
    rotated = [p for p in files_of(folder, stem, suffix) if p.name != stem + suffix]
    number = re.compile(re.escape(stem) + r"\.(\d+)" + re.escape(suffix))
    rotated.sort(key=lambda p: -int(number.fullmatch(p.name).group(1)))
    return [*rotated, folder / (stem + suffix)]


@pytest.mark.parametrize("count", [1, 2, 3, 5])
def test_rotation_keeps_at_most_n_files_of_at_most_m_bytes(tmp_path: Path, count: int):
    limit = 10_000
    settings = LogSettings(
        formats=ALL_FILES,
        raw=True,
        rotation=Rotation(enabled=True, maximum_file_size=limit, maximum_file_count=count),
    )
    with MessageLog(tmp_path, settings, "CP-1", TickingClock()) as log:
        ids = heartbeats(log, 150)
    for stem, suffix in [("CP-1", ".log"), ("CP-1", ".html"), ("CP-1-security", ".log")]:
        files = files_of(tmp_path, stem, suffix)
        assert 1 <= len(files) <= count, files
        assert all(p.stat().st_size <= limit for p in files), [p.stat().st_size for p in files]
    assert len(files_of(tmp_path, "CP-1_raw", ".jsonl")) <= count
    # the newest entries are in the file being written
    assert ids[-1] in (tmp_path / "CP-1.log").read_text(encoding="utf-8")
    last = read_page(tmp_path / "CP-1.html")
    assert ids[-1] in [r.message_id for r in last.rows]


def test_with_no_count_limit_nothing_is_lost_and_pages_are_complete(tmp_path: Path):
    settings = LogSettings(
        formats=["html", "log"],
        rotation=Rotation(enabled=True, maximum_file_size=8000, maximum_file_count=0),
    )
    with MessageLog(tmp_path, settings, "CP-1", TickingClock()) as log:
        ids = heartbeats(log, 120)
    pages = numbered_oldest_first(tmp_path, "CP-1", ".html")
    assert len(pages) > 5
    assert [p.name for p in pages[-3:]] == ["CP-1.1.html", "CP-1.0.html", "CP-1.html"]
    seen = []
    for path in pages:
        page = read_page(path)
        # each rotated file is a whole page: header, table, footer
        assert page.doctypes == 1 and page.footers == 1 and page.scripts == 1, path
        assert path.stat().st_size <= 8000
        seen += [r.message_id for r in page.rows if r.type == "CALL"]
    assert seen == ids
    logs = numbered_oldest_first(tmp_path, "CP-1", ".log")
    text = "".join(p.read_text(encoding="utf-8") for p in logs)
    assert re.findall(r"CALL Heartbeat id=(hb-\d+)", text) == ids


def test_an_answer_in_a_new_file_still_shows_the_action_of_its_call(tmp_path: Path):
    settings = LogSettings(
        formats=["html"], rotation=Rotation(enabled=True, maximum_file_size=10_000)
    )
    with MessageLog(tmp_path, settings, "CP-1", TickingClock()) as log:
        heartbeats(log, 60)
    for path in files_of(tmp_path, "CP-1", ".html"):
        answers = [r for r in read_page(path).rows if r.type == "CALLRESULT"]
        assert {r.action for r in answers} == {"Heartbeat"}


def test_date_suffix_names_rotated_files_by_time(tmp_path: Path):
    settings = LogSettings(
        formats=["log"],
        rotation=Rotation(
            enabled=True, date_suffix=True, maximum_file_size=2000, maximum_file_count=4
        ),
    )
    clock = TickingClock(step=timedelta(seconds=1))
    with MessageLog(tmp_path, settings, "CP-1", clock) as log:
        ids = heartbeats(log, 60)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert len(names) == 4 and "CP-1.log" in names
    rotated = [n for n in names if n != "CP-1.log"]
    assert all(re.fullmatch(r"CP-1\.2024050112\d{4}\.log", n) for n in rotated), rotated
    # the newest rotated file ends where the current one begins
    newest = (tmp_path / rotated[-1]).read_text(encoding="utf-8")
    current = (tmp_path / "CP-1.log").read_text(encoding="utf-8")
    assert ids[-1] in current
    first_current = re.findall(r"id=(hb-\d+)", current)[0]
    last_rotated = re.findall(r"id=(hb-\d+)", newest)[-1]
    assert int(first_current[3:]) - int(last_rotated[3:]) in (0, 1)


def test_date_suffix_rotations_within_one_second_do_not_overwrite(tmp_path: Path):
    settings = LogSettings(
        formats=["log"],
        rotation=Rotation(enabled=True, date_suffix=True, maximum_file_size=600),
    )
    clock = TickingClock(step=timedelta(0))
    with MessageLog(tmp_path, settings, "CP-1", clock) as log:
        ids = heartbeats(log, 10)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert "CP-1.20240501120000.log" in names and "CP-1.20240501120000-1.log" in names
    text = "".join(p.read_text(encoding="utf-8") for p in tmp_path.iterdir())
    assert sorted(re.findall(r"CALL Heartbeat id=(hb-\d+)", text)) == ids


def test_no_rotation_without_log_rotation_or_without_a_size(tmp_path: Path):
    for n, rotation in enumerate(
        [
            Rotation(enabled=False, maximum_file_size=500, maximum_file_count=2),
            Rotation(enabled=True, maximum_file_size=0, maximum_file_count=2),
        ]
    ):
        folder = tmp_path / str(n)
        settings = LogSettings(formats=["log"], rotation=rotation)
        with MessageLog(folder, settings, "CP-1", TickingClock()) as log:
            heartbeats(log, 20)
        assert [p.name for p in folder.iterdir()] == ["CP-1.log"]
        assert (folder / "CP-1.log").stat().st_size > 500


def test_an_entry_larger_than_the_limit_gets_a_file_of_its_own(tmp_path: Path):
    settings = LogSettings(
        formats=["log"],
        rotation=Rotation(enabled=True, maximum_file_size=300, maximum_file_count=0),
    )
    with MessageLog(tmp_path, settings, "CP-1", TickingClock()) as log:
        log.frame("out", call("big", "DataTransfer", {"vendorId": "x", "data": "y" * 1000}))
        log.frame("out", call("small", "Heartbeat", {}))
    logs = numbered_oldest_first(tmp_path, "CP-1", ".log")
    texts = [p.read_text(encoding="utf-8") for p in logs]
    big = [t for t in texts if "id=big" in t]
    assert len(big) == 1 and "id=small" not in big[0]
    assert all(p.stat().st_size <= 300 for p in logs if "id=big" not in p.read_text())


def test_a_restarted_log_rotates_the_file_it_continues(tmp_path: Path):
    settings = LogSettings(
        formats=["html"],
        rotation=Rotation(enabled=True, maximum_file_size=8000, maximum_file_count=3),
    )
    for _ in range(4):
        with MessageLog(tmp_path, settings, "CP-1", TickingClock()) as log:
            heartbeats(log, 8)
    pages = files_of(tmp_path, "CP-1", ".html")
    assert len(pages) <= 3
    for path in pages:
        page = read_page(path)
        assert path.stat().st_size <= 8000
        assert page.doctypes == 1 and page.footers == 1


def test_a_rotation_that_cannot_rename_keeps_writing_the_same_file(tmp_path: Path, caplog):
    settings = LogSettings(
        formats=["log", "html"],
        rotation=Rotation(enabled=True, maximum_file_size=8000),
    )
    # a folder where the first rotated file must go: the rename fails
    (tmp_path / "CP-1.0.log").mkdir()
    (tmp_path / "CP-1.0.html").mkdir()
    with MessageLog(tmp_path, settings, "CP-1", TickingClock()) as log:
        ids = heartbeats(log, 40)
    assert caplog.text.count("cannot rotate") == 2  # once per file, not per entry
    text = (tmp_path / "CP-1.log").read_text(encoding="utf-8")
    assert re.findall(r"CALL Heartbeat id=(hb-\d+)", text) == ids
    page = read_page(tmp_path / "CP-1.html")
    assert page.doctypes == 1 and page.footers == 1
    assert [r.message_id for r in page.rows if r.type == "CALL"] == ids
