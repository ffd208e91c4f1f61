"""The five fine-grained visual classification (FGVC) datasets of the VPT
benchmark, with VPT's train/val/test splits.

VPT's split release holds ``train.json``, ``val.json`` and ``test.json`` per
dataset, each a dict ``{"<image path>": <class id>}``; VPT reads them from
its ``DATA.DATAPATH``, the dataset's own folder, and the images from an
image root inside that folder. The same layout, with the five folders
under one data root::

    <data_root>/            e.g. data/fgvc
    ├── CUB_200_2011/       {train,val,test}.json; images/<class>/<file>.jpg
    ├── nabirds/            {train,val,test}.json; images/<class>/<file>.jpg
    ├── OxfordFlower/       {train,val,test}.json; jpg/image_00001.jpg
    ├── Stanford-dogs/      {train,val,test}.json; Images/<class>/<file>.jpg
    └── Stanford-cars/      {train,val,test}.json; car_ims/000001.jpg

The image paths in the JSON files are relative to the image root:
``images/`` for CUB and NABirds, ``Images/`` for Dogs, the dataset folder
itself for Flowers and Cars (whose paths then start with their image
folder).

The class ids (NABirds' are not contiguous) are mapped to ``0..C-1`` in
sorted order. VPT sorts the ids of each split on its own; here the ids of
all three splits together decide the mapping, so a class missing from one
split cannot shift the labels of that split. The two agree whenever every
split holds every class, and the union must have the dataset's number of
classes.

Protocol: select hyperparameters and epochs on ``val``, report top-1 on
``test``.
"""
import os.path as osp

from mmpretrain.datasets import BaseDataset

from adapterx.registry import DATASETS
from .annotations import (check_listed_images, close_matches,
                          indexed_class_names, read_label_json,
                          require_exists)

FGVC_SPLITS = ('train', 'val', 'test')


class FGVC(BaseDataset):
    """Base of the FGVC readers (see the module docstring for the layout).

    A subclass names its folder under the data root (``FOLDER``), its image
    root inside that folder (``IMAGE_DIR``, ``''`` for the folder itself)
    and its number of classes (``NUM_CLASSES``); a further dataset in VPT's
    layout needs nothing more.

    Everything is checked when the dataset is built: the folders and the
    three JSON files exist and are dicts of image path to integer class id,
    their class ids take ``NUM_CLASSES`` values, and every image of the
    split exists and can be read (``image_check``).

    Args:
        data_root (str): The folder holding the dataset's folder.
        split (str): ``'train'``, ``'val'`` or ``'test'``.
        pipeline (Sequence): Transforms; the samples hold ``img_path``
            (absolute) and ``gt_label``.
        metainfo (dict, optional): The class names default to
            ``class_0``, ``class_1``, ... After loading, the metainfo's
            ``class_ids`` gives the dataset's own class id of each label.
        image_check (str): ``'verify'`` (default), ``'decode'`` or
            ``'exists'``: how far each image of the split is checked when
            the dataset is built (see
            :func:`~adapterx.datasets.annotations.check_listed_images`).
        **kwargs: Other arguments of mmpretrain's ``BaseDataset``.
    """

    FOLDER: str
    IMAGE_DIR: str
    NUM_CLASSES: int

    def __init__(self, data_root, split, pipeline=(), metainfo=None,
                 image_check='verify', **kwargs):
        self.image_check = image_check
        if split not in FGVC_SPLITS:
            raise ValueError(
                f'Unknown {type(self).__name__} split {split!r}'
                f'{close_matches(split, FGVC_SPLITS)}; the splits are '
                f'{", ".join(FGVC_SPLITS)}.')
        self.split = split
        super().__init__(
            ann_file=osp.join(self.FOLDER, f'{split}.json'),
            data_root=data_root,
            data_prefix=osp.join(self.FOLDER, self.IMAGE_DIR),
            pipeline=pipeline,
            metainfo=indexed_class_names(metainfo, self.NUM_CLASSES,
                                         kwargs.get('classes')),
            **kwargs)

    def load_data_list(self):
        name = type(self).__name__
        folder = osp.join(self.data_root, self.FOLDER)
        layout = (
            f'{name} expects {folder} to hold train.json, val.json and '
            'test.json, each {"<image path>": <class id>}, with the image '
            f'paths relative to {self.img_prefix} (the layout of VPT\'s '
            'splits; see adapterx.datasets.fgvc).')
        if self.data_root:
            require_exists(self.data_root, 'FGVC data root', layout)
        require_exists(folder, f'{name} folder', layout)
        split_labels = {}
        for split in FGVC_SPLITS:
            json_file = osp.join(folder, f'{split}.json')
            require_exists(json_file, f'{name} {split} split file', layout)
            split_labels[split] = read_label_json(json_file)

        class_ids = sorted(
            set().union(*(labels.values()
                          for labels in split_labels.values())))
        if len(class_ids) != self.NUM_CLASSES:
            raise ValueError(
                f'{name} has {self.NUM_CLASSES} classes, but the class ids '
                f'of {folder}/{{train,val,test}}.json take {len(class_ids)} '
                'values.')
        self._metainfo['class_ids'] = tuple(class_ids)
        label_of = {class_id: i for i, class_id in enumerate(class_ids)}

        labels = split_labels[self.split]
        image_paths = [
            osp.abspath(osp.join(self.img_prefix, path)) for path in labels
        ]
        check_listed_images(image_paths, self.ann_file, self.image_check)
        return [
            dict(img_path=path, gt_label=label_of[class_id])
            for path, class_id in zip(image_paths, labels.values())
        ]

    def extra_repr(self):
        return [f'Split: \t{self.split}', *super().extra_repr()]


@DATASETS.register_module()
class CUB200(FGVC):
    """CUB-200-2011: 200 bird species."""
    FOLDER = 'CUB_200_2011'
    IMAGE_DIR = 'images'
    NUM_CLASSES = 200


@DATASETS.register_module()
class NABirds555(FGVC):
    """NABirds: 555 North American bird categories."""
    FOLDER = 'nabirds'
    IMAGE_DIR = 'images'
    NUM_CLASSES = 555


@DATASETS.register_module()
class OxfordFlowers102(FGVC):
    """Oxford Flowers: 102 flower species."""
    FOLDER = 'OxfordFlower'
    IMAGE_DIR = ''
    NUM_CLASSES = 102


@DATASETS.register_module()
class StanfordDogs120(FGVC):
    """Stanford Dogs: 120 dog breeds."""
    FOLDER = 'Stanford-dogs'
    IMAGE_DIR = 'Images'
    NUM_CLASSES = 120


# Not "StanfordCars": mmpretrain registers a reader of the original
# release under that name, which this one would shadow in adapterx's scope.
@DATASETS.register_module()
class StanfordCars196(FGVC):
    """Stanford Cars: 196 car models."""
    FOLDER = 'Stanford-cars'
    IMAGE_DIR = ''
    NUM_CLASSES = 196


# In the order of VPT's tables.
FGVC_DATASETS = (CUB200, NABirds555, OxfordFlowers102, StanfordDogs120,
                 StanfordCars196)
