from pathlib import Path

import numpy as np
from PIL import Image


def make_image_folder(root, num_classes=4, train_per_class=8,
                      test_per_class=4, size=32, seed=0):
    """Write a learnable image classification folder in the VTAB-1k format.

    Each class is a fixed random colour pattern; every image is its class's
    pattern plus noise, so a small model separates the classes in a few
    epochs. Writes ``images/{train,test}/NNNNNN.png`` and ``train.txt`` /
    ``test.txt`` with lines ``images/<split>/NNNNNN.png <label>`` under
    ``root``.

    Returns:
        Path: ``root``.
    """
    root = Path(root)
    rng = np.random.default_rng(seed)
    patterns = rng.uniform(0, 255, size=(num_classes, 4, 4, 3))
    for split, per_class in (('train', train_per_class),
                             ('test', test_per_class)):
        (root / 'images' / split).mkdir(parents=True, exist_ok=True)
        lines = []
        for index in range(num_classes * per_class):
            label = index % num_classes
            pattern = np.kron(patterns[label],
                              np.ones((size // 4, size // 4, 1)))
            noisy = pattern + rng.normal(0, 40, size=pattern.shape)
            pixels = np.clip(noisy, 0, 255).astype(np.uint8)
            relative = f'images/{split}/{index:06d}.png'
            Image.fromarray(pixels).save(root / relative)
            lines.append(f'{relative} {label}')
        (root / f'{split}.txt').write_text('\n'.join(lines) + '\n')
    return root
