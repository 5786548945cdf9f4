"""`chargebox diagram`: Mermaid always, dot source always, SVG through Graphviz when installed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from chargebox.charts import chart, diagram
from chargebox.cli import main
from chargebox.cli.diagram import DOCS_SOURCE_LINK, GraphvizMissing, dot_to_svg

HAS_DOT = shutil.which("dot") is not None


def test_mermaid_to_stdout_for_named_charts(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diagram", "outbox", "reservation"]) == 0
    out = capsys.readouterr().out
    assert out == (
        diagram.mermaid(chart("outbox").spec) + "\n" + diagram.mermaid(chart("reservation").spec)
    )


def test_out_dir_writes_the_docs_pages(
    tmp_path: Path, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["diagram", "--out", str(tmp_path)]) == 0
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == sorted(
        f"{name}.md"
        for name in [
            "connector",
            "connector0",
            "transaction",
            "reservation",
            "link",
            "outbox",
            "firmware",
            "diagnostics",
            "log",
            "signing",
            "station",
            "v2g",
            "status",
            "calls",
        ]
    )
    for page in tmp_path.iterdir():
        assert page.read_text() == (repo / "docs" / "statecharts" / page.name).read_text()
    assert f"wrote {tmp_path / 'link.md'}" in capsys.readouterr().out


def test_dot_needs_no_graphviz(tmp_path: Path) -> None:
    assert main(["diagram", "--format", "dot", "--out", str(tmp_path), "link"]) == 0
    assert (tmp_path / "link.dot").read_text() == diagram.dot(chart("link").spec)


def test_unknown_chart_is_named(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diagram", "lamp"]) == 2
    assert "unknown chart(s) lamp; the charts are connector, connector0" in capsys.readouterr().err


def test_svg_without_graphviz_says_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # a PATH with no `dot` on it: the machine as it is without Graphviz
    monkeypatch.setenv("PATH", str(tmp_path))
    assert main(["diagram", "--format", "svg", "outbox"]) == 1
    err = capsys.readouterr().err
    assert "Graphviz is not installed (no 'dot' on PATH)" in err and "--format mermaid" in err
    with pytest.raises(GraphvizMissing):
        dot_to_svg(diagram.dot(chart("outbox").spec))


@pytest.mark.skipif(not HAS_DOT, reason="Graphviz ('dot') is not installed: SVG cannot be rendered")
def test_svg_with_graphviz(tmp_path: Path) -> None:
    assert main(["diagram", "--format", "svg", "--out", str(tmp_path)]) == 0
    for name in ("connector", "outbox"):
        svg = (tmp_path / f"{name}.svg").read_text()
        assert svg.lstrip().startswith(("<?xml", "<svg")) and "</svg>" in svg
        assert "Faulted" in (tmp_path / "connector.svg").read_text()


def test_docs_source_link_points_at_the_chart_file(repo: Path) -> None:
    docs = repo / "docs" / "statecharts"
    assert (docs / DOCS_SOURCE_LINK.format(name="connector")).resolve() == (
        repo / "statecharts" / "connector.yaml"
    )
