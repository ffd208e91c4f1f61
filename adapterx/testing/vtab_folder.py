from pathlib import Path
from typing import Tuple

import numpy as np
from PIL import Image


def make_vtab1k_task(data_root, task: str = 'cifar', num_classes: int = 100,
                     num_train: int = 1000, num_test: int = 200,
                     image_size: Tuple[int, int] = (500, 375),
                     seed: int = 0) -> Path:
    """Write one VTAB-1k task folder (the layout of
    :mod:`adapterx.datasets.vtab1k`) of JPEG images, for timing the data
    pipeline at the sizes of the real files.

    Image i of a split has label ``i % num_classes``: a coarse random
    colour pattern of its class plus per-pixel noise (which JPEG encodes
    and decodes at about the cost of a photograph). ``train800`` and
    ``val200`` are the first 80% and the rest of ``train800val200``.

    Args:
        data_root: The folder that holds the task folders.
        image_size: (width, height) of every image.

    Returns:
        Path: ``data_root``.
    """
    folder = Path(data_root) / task
    rng = np.random.default_rng(seed)
    width, height = image_size
    patterns = rng.uniform(0, 255, size=(num_classes, 4, 4, 3))
    lists = {}
    for split, count in (('train800val200', num_train), ('test', num_test)):
        (folder / 'images' / split).mkdir(parents=True, exist_ok=True)
        lines = []
        for index in range(count):
            label = index % num_classes
            coarse = Image.fromarray(patterns[label].astype(np.uint8))
            pattern = np.asarray(coarse.resize((width, height),
                                               Image.NEAREST), np.int16)
            noise = rng.integers(-40, 41, size=pattern.shape, dtype=np.int16)
            pixels = np.clip(pattern + noise, 0, 255).astype(np.uint8)
            relative = f'images/{split}/{index:06d}.jpg'
            Image.fromarray(pixels).save(folder / relative, quality=90)
            lines.append(f'{relative} {label}\n')
        lists[split] = lines
    train_count = int(0.8 * num_train)
    lists['train800'] = lists['train800val200'][:train_count]
    lists['val200'] = lists['train800val200'][train_count:]
    for split, lines in lists.items():
        (folder / f'{split}.txt').write_text(''.join(lines))
    return Path(data_root)
