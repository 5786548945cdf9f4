"""`chargebox diagram`: draw the statecharts as Mermaid, Graphviz dot, or SVG.

Mermaid needs nothing installed. dot source is written by chargebox itself; SVG
runs Graphviz's `dot`, and says plainly when Graphviz is not installed. With
--out, mermaid writes the Markdown page of each chart (what docs/statecharts/
holds); without it, the diagrams go to standard output.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

from chargebox.charts import diagram
from chargebox.charts.catalog import all_charts, chart_names
from chargebox.charts.machine import Chart
from chargebox.charts.spec import ChartError

FORMATS = ("mermaid", "dot", "svg")
SUFFIX = {"mermaid": ".md", "dot": ".dot", "svg": ".svg"}
#: How the generated pages in docs/statecharts/ link to the chart files.
DOCS_SOURCE_LINK = "../../statecharts/{name}.yaml"


class GraphvizMissing(RuntimeError):
    """SVG output was asked for but Graphviz's `dot` is not on PATH."""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "diagram",
        help="draw the statecharts (Mermaid, Graphviz dot, SVG)",
        description=(
            "Draw the statecharts of statecharts/. Mermaid always works; svg needs Graphviz. "
            "With --out, mermaid writes one Markdown page per chart, as in docs/statecharts/."
        ),
    )
    parser.add_argument(
        "charts",
        nargs="*",
        metavar="CHART",
        help=f"charts to draw (default all: {', '.join(chart_names())})",
    )
    parser.add_argument("--format", choices=FORMATS, default="mermaid", help="output format")
    parser.add_argument("--out", type=Path, metavar="DIR", help="write one file per chart into DIR")
    parser.set_defaults(func=run)


def render(chart: Chart, fmt: str, *, page: bool) -> str:
    """The text of one chart in `fmt`; for mermaid, `page` gives the whole Markdown page."""
    if fmt == "mermaid":
        if page:
            return diagram.markdown_page(
                chart.spec, source_link=DOCS_SOURCE_LINK.format(name=chart.name)
            )
        return diagram.mermaid(chart.spec)
    source = diagram.dot(chart.spec)
    return source if fmt == "dot" else dot_to_svg(source)


def dot_to_svg(source: str) -> str:
    """Run Graphviz on dot source; GraphvizMissing if `dot` is not installed."""
    exe = shutil.which("dot")
    if exe is None:
        raise GraphvizMissing(
            "Graphviz is not installed (no 'dot' on PATH), so no SVG can be drawn. "
            "Install it (Debian/Ubuntu: apt install graphviz; macOS: brew install graphviz), "
            "or use --format mermaid (no dependency) or --format dot (source only)."
        )
    done = subprocess.run([exe, "-Tsvg"], input=source, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"dot failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


def run(args: argparse.Namespace) -> int:
    try:
        charts = all_charts()
    except ChartError as error:
        print(f"chargebox diagram: {error}", file=sys.stderr)
        return 1
    by_name = {c.name: c for c in charts}
    unknown = [name for name in args.charts if name not in by_name]
    if unknown:
        print(
            f"chargebox diagram: unknown chart(s) {', '.join(unknown)}; "
            f"the charts are {', '.join(by_name)}",
            file=sys.stderr,
        )
        return 2
    selected = [by_name[name] for name in args.charts] or charts
    try:
        if args.out is None:
            for number, chart in enumerate(selected):
                if number and args.format != "svg":
                    print()
                sys.stdout.write(render(chart, args.format, page=False))
            return 0
        args.out.mkdir(parents=True, exist_ok=True)
        for chart in selected:
            target = args.out / f"{chart.name}{SUFFIX[args.format]}"
            _write(target, render(chart, args.format, page=True))
            print(f"wrote {target}")
        return 0
    except GraphvizMissing as error:
        print(f"chargebox diagram: {error}", file=sys.stderr)
        return 1


def _write(target: Path, text: str) -> None:
    """Replace `target` atomically, so a reader never sees half a diagram."""
    temporary = target.with_name(target.name + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, target)
