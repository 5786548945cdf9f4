"""The wheel carries the chart files: charts load from an installed wheel, not the checkout."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

PROBE = textwrap.dedent(
    """
    import json
    import chargebox
    from chargebox.charts import all_charts, charts_dir
    from chargebox.charts.paths import generate_paths

    charts = all_charts()
    print(json.dumps({
        "package": chargebox.__file__,
        "charts_dir": str(charts_dir()),
        "charts": {c.name: len(c.transition_keys()) for c in charts},
        "paths": {c.name: len(generate_paths(c)) for c in charts},
    }))
    """
)


@pytest.mark.slow
def test_charts_load_from_an_installed_wheel(repo: Path, tmp_path: Path) -> None:
    if importlib.util.find_spec("hatchling") is None:
        pytest.skip("hatchling is not installed (pip install -e '.[test]' brings it)")
    wheels = tmp_path / "wheels"
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(wheels),
            str(repo),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert build.returncode == 0, build.stderr
    (wheel,) = wheels.glob("chargebox-*.whl")
    site = tmp_path / "site"
    install = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(site),
            str(wheel),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert install.returncode == 0, install.stderr
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    # -I would also drop PYTHONPATH; -S keeps the editable install's .pth of the checkout out.
    probe = subprocess.run(
        [sys.executable, "-S", "-c", PROBE],
        cwd=elsewhere,
        env={**env, "PYTHONPATH": os.pathsep.join([str(site), *_dependency_paths()])},
        capture_output=True,
        text=True,
        check=False,
    )
    assert probe.returncode == 0, probe.stderr
    found = json.loads(probe.stdout)
    assert Path(found["package"]).is_relative_to(site)
    assert Path(found["charts_dir"]) == site / "chargebox" / "_data" / "statecharts"
    from chargebox.charts import all_charts

    assert found["charts"] == {c.name: len(c.transition_keys()) for c in all_charts()}
    assert all(count > 0 for count in found["paths"].values())


def _dependency_paths() -> list[str]:
    """The site-packages holding trio, transitions, attrs, yaml (but not the checkout)."""
    import attrs
    import transitions
    import yaml

    return sorted(
        {str(Path(m.__file__).resolve().parent.parent) for m in (attrs, transitions, yaml)}
    )
