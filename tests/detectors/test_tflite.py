"""A LiteRT model run on a batch gives each image the outputs it gets alone."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from openproctor.detectors.catalog import model_path
from openproctor.detectors.tflite import TfliteModel


def test_a_batch_of_two_gives_each_image_its_own_outputs(model_dir: Path) -> None:
    path = model_path(model_dir, "iris_landmark")
    one, two = TfliteModel(path, 1), TfliteModel(path, 1, batch=2)
    images = np.random.default_rng(7).random((2, *one.input_hw, 3), dtype=np.float32)
    alone = [one(images[n : n + 1]) for n in range(2)]
    together = two(images)
    assert [o.shape for o in together] == [(2, a.size) for a in alone[0]]
    for n in range(2):
        for output, single in zip(together, alone[n], strict=True):
            np.testing.assert_array_equal(output[n], single.ravel())
