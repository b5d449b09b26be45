"""`openproctor models install` and `models status`: copy, verify and describe model files.

Install copies each file in the catalog from its installed package into DATA_DIR/models,
checks size and sha256 and swaps it in atomically; files already correct are left alone, so it
is safe to rerun. Nothing is fetched from the network.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openproctor.detectors.base import ModelError
from openproctor.detectors.catalog import MODELS, ModelSpec, model_path, sha256_of


def models_dir(data_dir: Path) -> Path:
    return data_dir / "models"


def _install_one(spec: ModelSpec, target_dir: Path) -> str:
    target = target_dir / spec.file
    if target.is_file() and target.stat().st_size == spec.size and sha256_of(target) == spec.sha256:
        return "ok"
    source = spec.source()
    if not source.is_file():
        raise ModelError(f"model {spec.name!r}: {source} is missing from its package")
    if sha256_of(source) != spec.sha256:
        raise ModelError(
            f"model {spec.name!r}: {source} has an unexpected sha256; the installed package "
            "is not the pinned version"
        )
    partial = target.with_name(f".{spec.file}.partial")
    shutil.copyfile(source, partial)
    os.replace(partial, target)
    return "installed"


def install(data_dir: Path, echo: Callable[[str], None] = print) -> list[Path]:
    """Install every model into DATA_DIR/models; returns the installed paths."""
    target_dir = models_dir(data_dir)
    target_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, spec in enumerate(MODELS.values(), start=1):
        echo(f"[{i}/{len(MODELS)}] {spec.name} ({spec.size / 1e6:.1f} MB) ...")
        echo(f"    {_install_one(spec, target_dir)}: {target_dir / spec.file}")
        paths.append(target_dir / spec.file)
    return paths


@dataclass(frozen=True, slots=True)
class ModelStatus:
    name: str
    file: Path
    licence: str
    size: int
    purpose: str
    ok: bool
    problem: str | None
    load_ms: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "file": str(self.file),
            "licence": self.licence,
            "size": self.size,
            "purpose": self.purpose,
            "ok": self.ok,
            "problem": self.problem,
            "load_ms": None if self.load_ms is None else round(self.load_ms, 1),
        }


def _loader(name: str, model_dir: Path) -> Callable[[], object]:
    """What loading one model costs: the runtime object a detector builds from the file."""
    path = model_dir / MODELS[name].file
    if path.suffix == ".tflite":
        from openproctor.detectors.tflite import TfliteModel

        return lambda: TfliteModel(path, 1)
    if name == "silero_vad":
        from openproctor.detectors.vad_silero import VoiceActivityDetector

        return lambda: VoiceActivityDetector(model_dir)
    if path.suffix == ".onnx":
        from openproctor.detectors.objects.coco import onnx_session

        return lambda: onnx_session(path, 1)
    import dlib

    if name == "dlib_shape5":
        return lambda: dlib.shape_predictor(str(path))
    return lambda: dlib.face_recognition_model_v1(str(path))


def status(data_dir: Path, *, load: bool = True) -> list[ModelStatus]:
    """Each model's file, licence and size, whether it verifies, and how long it takes to load."""
    model_dir = models_dir(data_dir)
    rows = []
    for spec in MODELS.values():
        problem: str | None = None
        load_ms: float | None = None
        try:
            model_path(model_dir, spec.name)
            if load:
                start = time.perf_counter()
                _loader(spec.name, model_dir)()
                load_ms = (time.perf_counter() - start) * 1000
        except (ModelError, RuntimeError) as exc:
            problem = str(exc)
        rows.append(
            ModelStatus(
                spec.name,
                model_dir / spec.file,
                spec.licence,
                spec.size,
                spec.purpose,
                problem is None,
                problem,
                load_ms,
            )
        )
    return rows
