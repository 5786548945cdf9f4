"""Statecharts as data: statecharts/*.yaml bound to model classes, diagrams, test paths.

Pure: no trio, no network. The chart format is described in docs/statecharts.md.

- `ChartModel` (base of the models in `chargebox.charts.models`), bound to its
  chart file by its `chart_name`; `model.fire(trigger, **params)` returns
  `Fired` or `NotAllowed`; actions record `effects` that `drain_effects()` hands over.
- `Chart`: a loaded chart with the one `transitions` Machine its models share.
- `events`: one frozen attrs class per trigger of every chart (what actors send
  each other); `addresses`: `Address[E]`, where an actor is reached and which
  chart's events it takes; `effects`: what actions record (`Send`, `Reply`, ...).
- `catalog`: the shipped charts; `diagram`: Mermaid, dot and Markdown;
  `paths`: event paths covering every transition; `coverage`: which transitions ran.
"""

from __future__ import annotations

from chargebox.charts.catalog import all_charts, chart, chart_names, charts_dir
from chargebox.charts.machine import Chart, Fired, NotAllowed, Outcome, check_model
from chargebox.charts.model import ChartModel
from chargebox.charts.spec import (
    ChartError,
    ChartSpec,
    ReportSpec,
    StateSpec,
    TransitionSpec,
    TriggerSpec,
    load_spec,
)

__all__ = [
    "Chart",
    "ChartError",
    "ChartModel",
    "ChartSpec",
    "Fired",
    "NotAllowed",
    "Outcome",
    "ReportSpec",
    "StateSpec",
    "TransitionSpec",
    "TriggerSpec",
    "all_charts",
    "chart",
    "chart_names",
    "charts_dir",
    "check_model",
    "load_spec",
]
