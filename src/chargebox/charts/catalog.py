"""The charts this installation ships: statecharts/*.yaml, each bound to its model class."""

from __future__ import annotations

from pathlib import Path

from chargebox import _resources
from chargebox.charts.machine import Chart
from chargebox.charts.models import MODELS
from chargebox.charts.spec import ChartError


def charts_dir() -> Path:
    """The statecharts/ folder of this installation (wheel or source checkout)."""
    return _resources.data_dir("statecharts")


def chart_names() -> list[str]:
    """The names of the shipped charts, in the order of the model registry."""
    return list(MODELS)


def chart(name: str) -> Chart:
    """The loaded, checked chart called `name` (shared, loaded once)."""
    try:
        model_class = MODELS[name]
    except KeyError:
        known = ", ".join(MODELS)
        raise ChartError(f"no chart named {name!r}; the charts are {known}") from None
    return Chart.for_model(model_class)


def all_charts() -> list[Chart]:
    """Every shipped chart, loaded and checked; a chart file without a model is an error."""
    files = {path.stem for path in charts_dir().glob("*.yaml")}
    orphans = sorted(files - set(MODELS))
    if orphans:
        raise ChartError(
            f"{charts_dir()}: chart file(s) {orphans} have no model class "
            "in chargebox.charts.models"
        )
    missing = sorted(set(MODELS) - files)
    if missing:
        raise ChartError(f"{charts_dir()}: chart file(s) for {missing} are missing")
    return [chart(name) for name in MODELS]
