from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from openproctor.detectors import catalog
from openproctor.detectors.base import ModelError
from openproctor.detectors.catalog import MODELS, model_path
from openproctor.detectors.config import FaceConfig
from openproctor.detectors.face_mediapipe import FaceDetector
from openproctor.detectors.install import install, status


def test_install_is_idempotent_and_verifies(models_data_dir: Path) -> None:
    lines: list[str] = []
    paths = install(models_data_dir, echo=lines.append)
    assert len(paths) == len(MODELS)
    assert all(line.startswith(("[", "    ok:")) for line in lines), lines
    assert all(row.ok and row.load_ms is not None for row in status(models_data_dir))


def test_missing_and_damaged_models_name_the_fix(models_data_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="openproctor models install"):
        FaceDetector(tmp_path, FaceConfig(), 1)

    copy = tmp_path / "models"
    shutil.copytree(models_data_dir / "models", copy)
    target = copy / MODELS["face_back"].file
    target.write_bytes(target.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(ModelError, match=r"damaged.*openproctor models install"):
        model_path(copy, "face_back")
    rows = {row.name: row for row in status(tmp_path)}
    assert not rows["face_back"].ok
    assert "damaged" in (rows["face_back"].problem or "")
    assert rows["face_full_range"].ok

    install(tmp_path, echo=lambda _: None)
    assert model_path(copy, "face_back") == target


@pytest.mark.parametrize(
    "name", ["face_resnet", "palm_detection", "hand_landmark", "selfie_segmentation"]
)
def test_a_vendored_model_with_the_wrong_sha256_is_not_installed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """Converted weights and MediaPipe's hand and segmentation models ship inside this package:
    install checks them against the pin too."""
    weights = tmp_path / "weights"
    shutil.copytree(catalog.WEIGHTS_DIR, weights)
    damaged = weights / MODELS[name].source_path
    damaged.write_bytes(damaged.read_bytes()[:-10] + b"0123456789")
    monkeypatch.setattr(catalog, "WEIGHTS_DIR", weights)
    with pytest.raises(ModelError, match=rf"'{name}'.*unexpected sha256"):
        install(tmp_path / "data", echo=lambda _: None)
    assert not (tmp_path / "data" / "models" / MODELS[name].file).exists()
