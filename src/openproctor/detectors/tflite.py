"""A LiteRT (TFLite) model with one float input, shared by the MediaPipe-model detectors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from ai_edge_litert.interpreter import Interpreter

from openproctor.detectors.base import FloatArray


class TfliteModel:
    def __init__(self, path: Path, threads: int, batch: int = 1) -> None:
        """batch: how many images each call takes. One invocation of a batch costs less than
        as many invocations of one (the iris model: both eyes 2.58 ms against 2 x 1.33)."""
        self._interpreter = Interpreter(model_path=str(path), num_threads=threads)
        (inp,) = self._interpreter.get_input_details()
        self._input = int(inp["index"])
        if batch != int(inp["shape"][0]):
            self._interpreter.resize_tensor_input(self._input, [batch, *inp["shape"][1:]])
        self._interpreter.allocate_tensors()
        self.batch = batch
        self.input_hw = (int(inp["shape"][1]), int(inp["shape"][2]))
        self._outputs = [int(o["index"]) for o in self._interpreter.get_output_details()]

    def __call__(self, tensor: FloatArray) -> list[FloatArray]:
        """Run on one NHWC float32 batch of `batch` images and return the outputs in the
        model's order, one row per image (a resized model may flatten its outputs' batch)."""
        self._interpreter.set_tensor(self._input, tensor)
        self._interpreter.invoke()
        outputs = [np.array(self._interpreter.get_tensor(i)) for i in self._outputs]
        return outputs if self.batch == 1 else [o.reshape(self.batch, -1) for o in outputs]
