"""A LiteRT (TFLite) model with one float input, shared by the MediaPipe-model detectors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from ai_edge_litert.interpreter import Interpreter

from openproctor.detectors.base import FloatArray


class TfliteModel:
    def __init__(self, path: Path, threads: int) -> None:
        self._interpreter = Interpreter(model_path=str(path), num_threads=threads)
        self._interpreter.allocate_tensors()
        (inp,) = self._interpreter.get_input_details()
        self._input = int(inp["index"])
        self.input_hw = (int(inp["shape"][1]), int(inp["shape"][2]))
        self._outputs = [int(o["index"]) for o in self._interpreter.get_output_details()]

    def __call__(self, tensor: FloatArray) -> list[FloatArray]:
        """Run on one NHWC float32 batch and return the outputs in the model's order."""
        self._interpreter.set_tensor(self._input, tensor)
        self._interpreter.invoke()
        return [np.array(self._interpreter.get_tensor(i)) for i in self._outputs]
