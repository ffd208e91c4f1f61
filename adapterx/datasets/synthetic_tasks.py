import numpy as np
from mmpretrain.datasets import BaseDataset

from adapterx.registry import DATASETS

# Each task has its own image statistics, so a small gate tells the tasks
# apart from the images alone (what merging with a gating network needs).
SYNTHETIC_TASKS = ('patterns', 'gratings', 'hues')
# Fixed per task: the class definitions are the same in every split.
_CLASS_SEED = {'patterns': 101, 'gratings': 202, 'hues': 303}
_SPLIT_OFFSET = {'train': 0, 'test': 1}


def _patterns(label, classes, size, rng):
    """Colourful blocks: a fixed random 4x4 colour pattern per class, heavy
    pixel noise."""
    pattern = np.kron(classes[label], np.ones((size // 4, size // 4, 1)))
    return pattern + rng.normal(0, 40, pattern.shape)


def _gratings(label, num_classes, size, rng):
    """Grey sinusoidal gratings; the class is the orientation, frequency
    and phase are random."""
    angle = np.pi * label / num_classes + rng.normal(0, 0.05)
    frequency = rng.uniform(2.0, 4.0) * 2 * np.pi / size
    y, x = np.mgrid[0:size, 0:size]
    wave = np.sin(frequency * (x * np.cos(angle) + y * np.sin(angle))
                  + rng.uniform(0, 2 * np.pi))
    grey = 127.5 + 110 * wave + rng.normal(0, 8, (size, size))
    return np.repeat(grey[..., None], 3, axis=2)


def _hues(label, num_classes, size, rng):
    """Smooth, bright colour fields; the class is the hue band of the
    field's colour, with a random linear shading."""
    hue = (label + rng.uniform(0.15, 0.85)) / num_classes
    phases = np.array([0, 2 / 3, 4 / 3]) * np.pi
    colour = 150 + 100 * np.cos(2 * np.pi * hue - phases)
    y, x = np.mgrid[0:size, 0:size] / size
    shading = 0.75 + 0.25 * (rng.uniform(-1, 1) * x + rng.uniform(-1, 1) * y)
    return colour * shading[..., None] + rng.normal(0, 4, (size, size, 3))


@DATASETS.register_module()
class SyntheticTaskImages(BaseDataset):
    """Generated image classification tasks of distinct image statistics
    (colour block patterns, grey gratings by orientation, colour fields by
    hue), for merging models fine-tuned on different tasks.

    Args:
        task (str): One of :data:`SYNTHETIC_TASKS`.
        split (str): ``'train'`` or ``'test'`` (disjoint draws).
        num_classes (int): Classes of the task.
        num_per_class (int): Images per class.
        image_size (int): Side of the images (a multiple of 4).
        seed (int): Draws of the images (class definitions stay fixed).
    """

    def __init__(self, task='patterns', split='train', num_classes=4,
                 num_per_class=50, image_size=32, seed=0, **kwargs):
        if task not in SYNTHETIC_TASKS:
            raise ValueError(f'Unknown synthetic task {task!r}; known: '
                             f'{SYNTHETIC_TASKS}')
        if split not in _SPLIT_OFFSET:
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        if image_size % 4:
            raise ValueError(
                f'image_size must be a multiple of 4, got {image_size}')
        self.task = task
        self.split = split
        self.num_classes = num_classes
        self.num_per_class = num_per_class
        self.image_size = image_size
        self.seed = seed
        metainfo = dict(classes=tuple(f'{task}_{index}'
                                      for index in range(num_classes)))
        super().__init__(ann_file='', metainfo=metainfo, **kwargs)

    def load_data_list(self):
        rng = np.random.default_rng(
            [self.seed, _SPLIT_OFFSET[self.split], _CLASS_SEED[self.task]])
        classes = np.random.default_rng(_CLASS_SEED[self.task]).uniform(
            0, 255, size=(self.num_classes, 4, 4, 3))
        data_list = []
        for _ in range(self.num_per_class):
            for label in range(self.num_classes):
                if self.task == 'patterns':
                    image = _patterns(label, classes, self.image_size, rng)
                elif self.task == 'gratings':
                    image = _gratings(label, self.num_classes,
                                      self.image_size, rng)
                else:
                    image = _hues(label, self.num_classes, self.image_size,
                                  rng)
                data_list.append(
                    dict(img=np.clip(image, 0, 255).astype(np.uint8),
                         gt_label=label))
        return data_list
