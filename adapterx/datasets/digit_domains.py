import numpy as np

from adapterx.registry import DATASETS
from .sklearn_digits import SklearnDigits

# Generated domain shifts of one task (the ten digits): the same classes
# under different image statistics, for domain merging.
DIGIT_DOMAINS = ('clean', 'inverted', 'noise', 'texture', 'rotated',
                 'coloured', 'low_contrast', 'checker', 'blurred')
_DOMAIN_SEED = {domain: 1000 + index
                for index, domain in enumerate(DIGIT_DOMAINS)}
_SPLIT_OFFSET = {'train': 0, 'test': 1}


def _blur(grey):
    """Two passes of a 3x3 box filter (edges padded)."""
    for _ in range(2):
        padded = np.pad(grey, 1, mode='edge')
        grey = sum(padded[dy:dy + grey.shape[0], dx:dx + grey.shape[1]]
                   for dy in range(3) for dx in range(3)) / 9
    return grey


def shift_domain(image, domain, rng):
    """``image`` (a bright digit on black, HWC uint8, grey) seen in
    ``domain``: a float HWC image in [0, 255]."""
    grey = image[..., 0].astype(np.float64)
    ink = grey / 255.0
    size = grey.shape[0]
    y, x = np.mgrid[0:size, 0:size]
    if domain == 'clean':
        out = grey
    elif domain == 'inverted':
        out = 255.0 - grey
    elif domain == 'noise':
        out = grey + rng.normal(0, 70, grey.shape)
    elif domain == 'texture':
        angle = rng.uniform(0, np.pi)
        stripes = 70 + 60 * np.sin(2 * np.pi / 6 * (
            x * np.cos(angle) + y * np.sin(angle)) + rng.uniform(0, 6.3))
        out = ink * 255 + (1 - ink) * stripes
    elif domain == 'rotated':
        out = np.rot90(grey, k=1)
    elif domain == 'coloured':
        foreground = rng.uniform(150, 255, 3)
        background = rng.uniform(0, 90, 3)
        return (ink[..., None] * foreground +
                (1 - ink[..., None]) * background)
    elif domain == 'low_contrast':
        out = 100 + 0.25 * grey
    elif domain == 'checker':
        board = 110.0 * (((x // 4) + (y // 4)) % 2)
        out = ink * 255 + (1 - ink) * board
    else:
        out = _blur(grey)
    return np.repeat(out[..., None], 3, axis=2)


@DATASETS.register_module()
class DigitDomains(SklearnDigits):
    """scikit-learn's digits (:class:`SklearnDigits`, same split and
    classes) under a generated domain shift: ``clean`` (as they are),
    ``inverted`` (dark ink on white), ``noise`` (strong Gaussian pixel
    noise), ``texture`` (on random stripes), ``rotated`` (90 degrees),
    ``coloured`` (random bright ink on a random dark background),
    ``low_contrast``, ``checker`` (on a checkerboard), ``blurred``.

    Args:
        domain (str): One of :data:`DIGIT_DOMAINS`.
        split (str): ``'train'`` or ``'test'``.
        seed (int): Draws of the random shifts.
    """

    def __init__(self, domain='clean', split='train', seed=0, **kwargs):
        if domain not in DIGIT_DOMAINS:
            raise ValueError(f'Unknown digit domain {domain!r}; known: '
                             f'{DIGIT_DOMAINS}')
        self.domain = domain
        self.seed = seed
        super().__init__(split=split, **kwargs)

    def load_data_list(self):
        rng = np.random.default_rng(
            [self.seed, _SPLIT_OFFSET[self.split], _DOMAIN_SEED[self.domain]])
        data_list = super().load_data_list()
        for item in data_list:
            shifted = shift_domain(item['img'], self.domain, rng)
            item['img'] = np.clip(shifted, 0, 255).astype(np.uint8)
        return data_list
