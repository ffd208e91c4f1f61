"""ScanObjectNN: 15 classes of objects cut out of scanned indoor scenes, in
the HDF5 release the point-cloud PEFT literature trains on::

    <data_root>/                e.g. data/ScanObjectNN/h5_files
    ├── main_split/
    │   ├── training_objectdataset_augmentedrot_scale75.h5    PB_T50_RS
    │   ├── test_objectdataset_augmentedrot_scale75.h5
    │   ├── training_objectdataset.h5                         OBJ_BG
    │   └── test_objectdataset.h5
    └── main_split_nobg/
        ├── training_objectdataset.h5                         OBJ_ONLY
        └── test_objectdataset.h5

Each file holds ``data``, float32 clouds of shape (N, 2048, 3), and
``label``, N class ids in ``[0, 15)`` of shape (N,) or (N, 1); other keys
(``mask``) are not read. The points are returned as stored: Point-MAE's
protocol feeds them to the model without normalising them.

The variants: OBJ_BG, the objects with the background points of their
bounding boxes; OBJ_ONLY, the objects alone; PB_T50_RS, the hardest, the
boxes translated by up to 50% of their size, rotated and scaled (five
perturbed copies of each object).

Protocol: ScanObjectNN has no validation split; the papers train on the
training file and report top-1 on the test file.
"""
import os.path as osp

from mmpretrain.datasets import BaseDataset

from adapterx.registry import DATASETS
from .annotations import close_matches, require_exists
from .point_cloud_files import (cloud_list, fewest_points_of_files,
                                read_h5_point_clouds)

# In the order of the release's class ids.
SCANOBJECTNN_CLASSES = ('bag', 'bin', 'box', 'cabinet', 'chair', 'desk',
                        'display', 'door', 'shelf', 'table', 'bed', 'pillow',
                        'sink', 'sofa', 'toilet')

# Variant -> (folder under the data root, file name after the split prefix).
SCANOBJECTNN_VARIANTS = {
    'pb_t50_rs': ('main_split', 'objectdataset_augmentedrot_scale75.h5'),
    'obj_bg': ('main_split', 'objectdataset.h5'),
    'obj_only': ('main_split_nobg', 'objectdataset.h5'),
}

# Split -> the prefix of its file name.
SCANOBJECTNN_SPLITS = {'train': 'training', 'test': 'test'}


def scanobjectnn_file(variant, split):
    """The path of a variant's split file relative to the data root."""
    folder, name = SCANOBJECTNN_VARIANTS[variant]
    return osp.join(folder, f'{SCANOBJECTNN_SPLITS[split]}_{name}')


@DATASETS.register_module()
class ScanObjectNN(BaseDataset):
    """One variant and split of ScanObjectNN (see the module docstring for
    the layout).

    The file is read and checked when the dataset is built: it exists,
    holds ``data`` (N, P, 3) float values, all finite, and ``label`` with N
    class ids in ``[0, 15)``.

    Args:
        data_root (str): The folder holding ``main_split/`` and
            ``main_split_nobg/`` (the release's ``h5_files``).
        variant (str): ``'pb_t50_rs'``, ``'obj_bg'`` or ``'obj_only'``
            (any case).
        split (str): ``'train'`` or ``'test'``.
        pipeline (Sequence): Transforms; the samples hold ``points``,
            float32 (P, 3), and ``gt_label``.
        **kwargs: Other arguments of mmpretrain's ``BaseDataset``
            (``indices``, ``test_mode``, ``lazy_init``, ``classes``, ...).
    """

    METAINFO = {'classes': SCANOBJECTNN_CLASSES}

    def __init__(self, data_root, variant='pb_t50_rs', split='train',
                 pipeline=(), **kwargs):
        variant = str(variant).lower()
        if variant not in SCANOBJECTNN_VARIANTS:
            raise ValueError(
                f'Unknown ScanObjectNN variant {variant!r}'
                f'{close_matches(variant, SCANOBJECTNN_VARIANTS)}; the '
                f'variants are {", ".join(SCANOBJECTNN_VARIANTS)}.')
        if split not in SCANOBJECTNN_SPLITS:
            raise ValueError(
                f'Unknown ScanObjectNN split {split!r}; the splits are '
                f'{", ".join(SCANOBJECTNN_SPLITS)}.')
        self.variant = variant
        self.split = split
        super().__init__(
            ann_file=scanobjectnn_file(variant, split),
            data_root=data_root,
            pipeline=pipeline,
            **kwargs)

    def load_data_list(self):
        expected_files = ' and '.join(
            scanobjectnn_file(self.variant, split)
            for split in SCANOBJECTNN_SPLITS)
        layout = (
            f'The ScanObjectNN {self.variant} variant expects '
            f'{expected_files} under the data root, the h5_files folder of '
            'the release that holds main_split/ and main_split_nobg/ (see '
            'adapterx.datasets.scanobjectnn).')
        if self.data_root:
            require_exists(self.data_root, 'ScanObjectNN data root', layout)
        require_exists(self.ann_file,
                       f'ScanObjectNN {self.variant} {self.split} file',
                       layout)
        points, labels = read_h5_point_clouds(self.ann_file,
                                              len(SCANOBJECTNN_CLASSES))
        self.fewest_points = fewest_points_of_files([(self.ann_file, points)])
        return cloud_list(points, labels)

    def extra_repr(self):
        return [f'Variant: \t{self.variant}', f'Split: \t{self.split}',
                *super().extra_repr()]
