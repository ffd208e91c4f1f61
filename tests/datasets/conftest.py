from pathlib import Path

import numpy as np
import pytest
from PIL import Image


@pytest.fixture
def write_image():
    """Write a small random RGB image (JPEG or PNG by the suffix)."""
    rng = np.random.default_rng(0)

    def write(path, size=(8, 8)):
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        width, height = size
        pixels = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(path)
        return path

    return write
