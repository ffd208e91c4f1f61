import numpy as np
from mmpretrain.datasets import BaseDataset

from adapterx.registry import DATASETS


@DATASETS.register_module()
class SklearnDigits(BaseDataset):
    """The handwritten digits scikit-learn ships (1,797 8x8 grey images, 10
    classes), as RGB images for ViTs: a downstream task that needs no
    download, for the demo and the tests.

    Args:
        split (str): ``'train'`` or ``'test'``: a fixed stratified split,
            ``test_fraction`` of each class in test.
        image_size (int): Side of the output images (8 times an integer;
            pixels are repeated, the 0-16 grey values scaled to 0-255).
        test_fraction (float): Share of each class held out for test.
        pipeline (list): Transforms; the images are HWC uint8 arrays under
            ``img`` already, so no loading transform is needed.
    """

    METAINFO = {'classes': tuple(str(digit) for digit in range(10))}

    def __init__(self, split='train', image_size=32, test_fraction=0.3,
                 **kwargs):
        if split not in ('train', 'test'):
            raise ValueError(
                f"SklearnDigits split must be 'train' or 'test', got {split!r}")
        if image_size % 8:
            raise ValueError(
                f'image_size must be a multiple of 8, got {image_size}')
        self.split = split
        self.image_size = image_size
        self.test_fraction = test_fraction
        super().__init__(ann_file='', **kwargs)

    def load_data_list(self):
        from sklearn.datasets import load_digits
        digits = load_digits()
        repeat = self.image_size // 8
        rng = np.random.default_rng(0)
        data_list = []
        for label in range(10):
            indices = np.flatnonzero(digits.target == label)
            rng.shuffle(indices)
            num_test = int(round(len(indices) * self.test_fraction))
            chosen = indices[:num_test] if self.split == 'test' \
                else indices[num_test:]
            for index in chosen:
                grey = digits.images[index] * (255.0 / 16.0)
                grey = np.kron(grey, np.ones((repeat, repeat)))
                image = np.repeat(grey[..., None], 3, axis=2)
                data_list.append(
                    dict(img=image.astype(np.uint8), gt_label=int(label)))
        return data_list
