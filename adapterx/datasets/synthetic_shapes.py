import numpy as np
from mmpretrain.datasets import BaseDataset
from PIL import Image, ImageDraw

from adapterx.registry import DATASETS

SHAPES = ('disk', 'ring', 'square', 'frame', 'triangle', 'cross', 'x_mark',
          'horizontal_bar', 'vertical_bar', 'two_dots')


def draw_shape(shape: str, size: int, rng: np.random.Generator) -> np.ndarray:
    """One ``size`` x ``size`` RGB image of ``shape`` at a random position,
    scale, colour and stroke, on a random dark background with noise."""
    background = tuple(int(v) for v in rng.integers(0, 80, 3))
    colour = tuple(int(v) for v in rng.integers(150, 256, 3))
    image = Image.new('RGB', (size, size), background)
    draw = ImageDraw.Draw(image)
    radius = rng.uniform(0.2, 0.38) * size
    cx, cy = rng.uniform(radius, size - radius, 2)
    box = [cx - radius, cy - radius, cx + radius, cy + radius]
    width = max(1, int(size / 12))
    if shape == 'disk':
        draw.ellipse(box, fill=colour)
    elif shape == 'ring':
        draw.ellipse(box, outline=colour, width=width)
    elif shape == 'square':
        draw.rectangle(box, fill=colour)
    elif shape == 'frame':
        draw.rectangle(box, outline=colour, width=width)
    elif shape == 'triangle':
        draw.polygon([(cx, cy - radius), (cx - radius, cy + radius),
                      (cx + radius, cy + radius)], fill=colour)
    elif shape == 'cross':
        draw.line([(cx - radius, cy), (cx + radius, cy)], colour, width)
        draw.line([(cx, cy - radius), (cx, cy + radius)], colour, width)
    elif shape == 'x_mark':
        draw.line([box[0], box[1], box[2], box[3]], colour, width)
        draw.line([box[0], box[3], box[2], box[1]], colour, width)
    elif shape == 'horizontal_bar':
        draw.rectangle([box[0], cy - width, box[2], cy + width], fill=colour)
    elif shape == 'vertical_bar':
        draw.rectangle([cx - width, box[1], cx + width, box[3]], fill=colour)
    elif shape == 'two_dots':
        dot = radius / 3
        for dx in (-radius / 2, radius / 2):
            draw.ellipse([cx + dx - dot, cy - dot, cx + dx + dot, cy + dot],
                         fill=colour)
    else:
        raise ValueError(f'Unknown shape {shape!r}; known: {SHAPES}')
    noisy = np.asarray(image, np.float64) + rng.normal(0, 12, (size, size, 3))
    return np.clip(noisy, 0, 255).astype(np.uint8)


@DATASETS.register_module()
class SyntheticShapes(BaseDataset):
    """Ten classes of primitive shapes drawn on the fly: the pretraining
    task of the demo's small ViT (a task other than the downstream one).

    Args:
        num_per_class (int): Images per class.
        image_size (int): Side of the images.
        seed (int): Generator seed; different seeds give disjoint draws
            for train and validation sets.
    """

    METAINFO = {'classes': SHAPES}

    def __init__(self, num_per_class=500, image_size=32, seed=0, **kwargs):
        self.num_per_class = num_per_class
        self.image_size = image_size
        self.seed = seed
        super().__init__(ann_file='', **kwargs)

    def load_data_list(self):
        rng = np.random.default_rng(self.seed)
        return [
            dict(img=draw_shape(shape, self.image_size, rng), gt_label=label)
            for _ in range(self.num_per_class)
            for label, shape in enumerate(SHAPES)
        ]
