"""ModelNet40: 12,311 CAD models of 40 object classes (9,843 for training,
2,468 for testing), in the two releases the point-cloud literature uses.

``ModelNet40``, the layout of the Point-BERT / Point-MAE code::

    <data_root>/             e.g. data/ModelNet/modelnet40_normal_resampled
    ├── modelnet40_shape_names.txt     the 40 class names, one a line
    ├── modelnet40_train.txt           shape ids, one a line: airplane_0001
    ├── modelnet40_test.txt
    ├── airplane/airplane_0001.txt     10,000 lines "x,y,z,nx,ny,nz"
    ├── ...
    ├── modelnet40_train_8192pts_fps.dat    optional caches (below)
    └── modelnet40_test_8192pts_fps.dat

A cache ``modelnet40_<split>_<P>pts_fps.dat`` is a pickle of ``[clouds,
labels]``: a list of (P, 6) float arrays (P points chosen from the shape's
file by furthest point sampling) and a list of labels, each an integer
array of shape (1,). Without the cache of ``num_points`` the shapes are
read from their text files, taking the first ``num_points`` lines as
Point-BERT does when it does not sample uniformly (not furthest point
sampling, which would take hours per split on a CPU), so the points differ
from the cache's. The cache is read with an unpickler that rebuilds numpy
arrays and refuses anything else.

``ModelNet40H5``, PointNet's release (also used by DGCNN)::

    <data_root>/                  e.g. data/modelnet40_ply_hdf5_2048
    ├── ply_data_train0.h5 ... ply_data_train4.h5
    ├── ply_data_test0.h5, ply_data_test1.h5
    ├── train_files.txt, test_files.txt   optional: the files, in order
    └── shape_names.txt                   optional: the 40 class names

Each h5 file holds ``data``, float32 (N, 2048, 3), and ``label``, (N, 1)
class ids in ``[0, 40)``.

Protocol: neither release has a validation split; the papers train on
train and report top-1 (overall accuracy) on test.
"""
import glob
import os.path as osp
import re

import numpy as np
from mmpretrain.datasets import BaseDataset

from adapterx.registry import DATASETS
from .annotations import require_exists
from .point_cloud_files import (FewestPoints, check_labels, check_point_array,
                                cloud_list, fewest_points_of_files,
                                load_numpy_pickle, read_h5_point_clouds)

# The class ids of both releases index this (alphabetical) list.
MODELNET40_CLASSES = (
    'airplane', 'bathtub', 'bed', 'bench', 'bookshelf', 'bottle', 'bowl',
    'car', 'chair', 'cone', 'cup', 'curtain', 'desk', 'door', 'dresser',
    'flower_pot', 'glass_box', 'guitar', 'keyboard', 'lamp', 'laptop',
    'mantel', 'monitor', 'night_stand', 'person', 'piano', 'plant', 'radio',
    'range_hood', 'sink', 'sofa', 'stairs', 'stool', 'table', 'tent',
    'toilet', 'tv_stand', 'vase', 'wardrobe', 'xbox')

MODELNET40_SPLITS = ('train', 'test')

# Columns of a shape's text file: coordinates, then normals.
_XYZ_COLUMNS = 3
_XYZ_NORMAL_COLUMNS = 6


def read_class_names(names_file):
    """The class names of ``names_file``, one a line (blank lines skipped),
    checked to be ``len(MODELNET40_CLASSES)`` distinct names."""
    with open(names_file, encoding='utf-8') as file:
        names = tuple(line.strip() for line in file if line.strip())
    if len(names) != len(MODELNET40_CLASSES) or len(set(names)) != len(names):
        raise ValueError(
            f'{names_file} lists {len(names)} names ({len(set(names))} '
            f'distinct); expected the {len(MODELNET40_CLASSES)} ModelNet40 '
            'class names, one a line, in class-id order.')
    return names


class _ModelNet40Release(BaseDataset):
    """What the two ModelNet40 readers share: the split check and the class
    names, taken from the release's names file when it has one (unless the
    user named the classes)."""

    METAINFO = {'classes': MODELNET40_CLASSES}

    def __init__(self, data_root, split='train', pipeline=(), metainfo=None,
                 **kwargs):
        if split not in MODELNET40_SPLITS:
            raise ValueError(
                f'Unknown {type(self).__name__} split {split!r}; the splits '
                f'are {", ".join(MODELNET40_SPLITS)}.')
        self.split = split
        self._user_named_classes = (kwargs.get('classes') is not None or
                                    'classes' in (metainfo or {}))
        super().__init__(
            ann_file='',
            data_root=data_root,
            pipeline=pipeline,
            metainfo=metainfo,
            **kwargs)

    def _require_data_root(self, layout):
        require_exists(self.data_root, f'{type(self).__name__} data root',
                       layout)

    def _class_names(self, names_file):
        """The class names of ``names_file`` if it exists, else the
        standard ones; they become the metainfo's unless the user named
        the classes."""
        if not osp.isfile(names_file):
            return MODELNET40_CLASSES
        names = read_class_names(names_file)
        if not self._user_named_classes:
            self._metainfo['classes'] = names
        return names

    def extra_repr(self):
        return [f'Split: \t{self.split}', *super().extra_repr()]


@DATASETS.register_module()
class ModelNet40(_ModelNet40Release):
    """ModelNet40 in the Point-BERT / Point-MAE layout (see the module
    docstring), from the furthest-point-sampled cache when it exists, else
    from the shapes' text files.

    Everything is checked when the dataset is built: the cache unpickles
    with numpy arrays only and holds clouds of ``num_points`` finite points
    and labels in ``[0, 40)``; without it, the names and list files exist,
    every listed shape names a class and has a file with at least
    ``num_points`` lines of 3 or 6 comma-separated numbers.

    Args:
        data_root (str): The ``modelnet40_normal_resampled`` folder.
        split (str): ``'train'`` or ``'test'``.
        num_points (int): Points per shape: the cache
            ``modelnet40_<split>_<num_points>pts_fps.dat`` is read, or the
            first ``num_points`` lines of each shape's file. Point-MAE
            reads 8192 and samples 1024 of them in the pipeline.
        use_normals (bool): Keep the normals, (P, 6) clouds; by default
            only x, y, z, (P, 3).
        pipeline (Sequence): Transforms; the samples hold ``points``,
            float32 (P, 3) or (P, 6), and ``gt_label``. The points are as
            stored: add ``NormalizePoints`` to centre and scale them as
            Point-BERT does.
        **kwargs: Other arguments of mmpretrain's ``BaseDataset``.
    """

    def __init__(self, data_root, split='train', num_points=8192,
                 use_normals=False, pipeline=(), **kwargs):
        if int(num_points) != num_points or num_points < 1:
            raise ValueError(
                f'num_points must be a positive integer, got {num_points!r}')
        self.num_points = int(num_points)
        self.use_normals = use_normals
        super().__init__(data_root, split, pipeline, **kwargs)

    @property
    def cache_file(self):
        return osp.join(
            self.data_root,
            f'modelnet40_{self.split}_{self.num_points}pts_fps.dat')

    @property
    def _channels(self):
        return _XYZ_NORMAL_COLUMNS if self.use_normals else _XYZ_COLUMNS

    def load_data_list(self):
        layout = (
            f'ModelNet40 expects {self.data_root} (the '
            'modelnet40_normal_resampled folder) to hold '
            f'modelnet40_{self.split}_{self.num_points}pts_fps.dat, or '
            'modelnet40_shape_names.txt, modelnet40_{train,test}.txt (shape '
            'ids such as airplane_0001) and <class>/<shape id>.txt files of '
            '"x,y,z,nx,ny,nz" lines (see adapterx.datasets.modelnet40).')
        self._require_data_root(layout)
        # Every cloud is cut to num_points (a shorter file is refused).
        self.fewest_points = FewestPoints(
            self.num_points, f"the dataset's num_points={self.num_points}")
        names_file = osp.join(self.data_root, 'modelnet40_shape_names.txt')
        if osp.isfile(self.cache_file):
            self._class_names(names_file)
            clouds, labels = self._read_cache()
        else:
            require_exists(names_file, 'ModelNet40 class names file', layout)
            clouds, labels = self._read_shape_files(
                self._class_names(names_file), layout)
        return cloud_list((cloud[:, :self._channels] for cloud in clouds),
                          labels)

    def _read_cache(self):
        path = self.cache_file
        expected = (
            f'expected [clouds, labels] as Point-BERT writes it: a list of '
            f'({self.num_points}, 6) float arrays and a list as long of '
            'integer arrays of shape (1,)')
        content = load_numpy_pickle(path)
        if not (isinstance(content, (list, tuple)) and len(content) == 2
                and all(isinstance(part, (list, tuple))
                        for part in content)):
            raise ValueError(f'{path} holds a {type(content).__name__}; '
                             f'{expected}.')
        clouds, labels = content
        if len(clouds) != len(labels):
            raise ValueError(f'{path} holds {len(clouds)} clouds but '
                             f'{len(labels)} labels; {expected}.')
        for index, cloud in enumerate(clouds):
            where = f'{path}, cloud {index}'
            check_point_array(cloud, where, self._channels)
            if cloud.ndim != 2 or len(cloud) != self.num_points:
                raise ValueError(f'{where} has shape {cloud.shape}; '
                                 f'{expected}.')
        label_values = []
        for index, label in enumerate(labels):
            label = np.asarray(label)
            if label.size != 1:
                raise ValueError(f'{path}, label {index} has shape '
                                 f'{label.shape}; {expected}.')
            label_values.append(label.reshape(()))
        return clouds, check_labels(
            np.array(label_values), len(MODELNET40_CLASSES),
            f'{path}: the labels')

    def _read_shape_files(self, class_names, layout):
        list_file = osp.join(self.data_root, f'modelnet40_{self.split}.txt')
        require_exists(list_file, f'ModelNet40 {self.split} list file',
                       layout)
        label_of = {name: label for label, name in enumerate(class_names)}
        shape_files, labels = [], []
        with open(list_file, encoding='utf-8') as file:
            for line_number, line in enumerate(file, 1):
                shape_id = line.strip()
                if not shape_id:
                    continue
                class_name = shape_id.rpartition('_')[0]
                if class_name not in label_of:
                    raise ValueError(
                        f'{list_file}, line {line_number}: the shape id '
                        f'{shape_id!r} does not start with a class name of '
                        'modelnet40_shape_names.txt and "_" (expected ids '
                        'such as airplane_0001).')
                shape_files.append(
                    osp.join(self.data_root, class_name, f'{shape_id}.txt'))
                labels.append(label_of[class_name])
        missing = [path for path in shape_files if not osp.isfile(path)]
        if missing:
            raise FileNotFoundError(
                f'{len(missing)} of the {len(shape_files)} shapes listed in '
                f'{list_file} have no point file; the first: {missing[0]}. '
                f'{layout}')
        return [self._read_shape_file(path) for path in shape_files], labels

    def _read_shape_file(self, path):
        try:
            cloud = np.loadtxt(path, delimiter=',', dtype=np.float32,
                               max_rows=self.num_points, ndmin=2)
        except ValueError as error:
            raise ValueError(
                f'{path}: {error}; expected lines of comma-separated numbers '
                '"x,y,z,nx,ny,nz".') from None
        if len(cloud) < self.num_points:
            raise ValueError(
                f'{path} holds {len(cloud)} points; num_points='
                f'{self.num_points} takes the first {self.num_points} lines.')
        check_point_array(cloud, path, self._channels)
        return cloud


@DATASETS.register_module()
class ModelNet40H5(_ModelNet40Release):
    """ModelNet40 in PointNet's HDF5 release (see the module docstring).

    The split's files are those ``<split>_files.txt`` lists (by file name,
    in its order), or else every ``ply_data_<split><N>.h5`` in the order of
    N; each is checked as ScanObjectNN's are (``data`` (N, P, 3) finite
    floats, ``label`` N ids in ``[0, 40)``).

    Args:
        data_root (str): The ``modelnet40_ply_hdf5_2048`` folder.
        split (str): ``'train'`` or ``'test'``.
        pipeline (Sequence): Transforms; the samples hold ``points``,
            float32 (2048, 3), and ``gt_label``.
        **kwargs: Other arguments of mmpretrain's ``BaseDataset``.
    """

    def load_data_list(self):
        layout = (
            f'ModelNet40H5 expects {self.data_root} (the '
            'modelnet40_ply_hdf5_2048 folder) to hold '
            f'ply_data_{self.split}0.h5, ply_data_{self.split}1.h5, ... '
            f'(or the files {self.split}_files.txt lists), each with the '
            "keys 'data' (N, 2048, 3) and 'label' (N, 1).")
        self._require_data_root(layout)
        self._class_names(osp.join(self.data_root, 'shape_names.txt'))
        data_list, files = [], []
        for path in self._split_files(layout):
            points, labels = read_h5_point_clouds(path,
                                                  len(MODELNET40_CLASSES))
            files.append((path, points))
            data_list.extend(cloud_list(points, labels))
        self.fewest_points = fewest_points_of_files(files)
        return data_list

    def _split_files(self, layout):
        list_file = osp.join(self.data_root, f'{self.split}_files.txt')
        if osp.isfile(list_file):
            with open(list_file, encoding='utf-8') as file:
                # The release lists paths relative to PointNet's repository
                # (data/modelnet40_ply_hdf5_2048/...): keep the file names.
                listed = [line.strip() for line in file if line.strip()]
            paths = [osp.join(self.data_root, osp.basename(name))
                     for name in listed]
            for name, path in zip(listed, paths):
                if not osp.isfile(path):
                    raise FileNotFoundError(
                        f'{list_file} lists {name}, but {path} does not '
                        f'exist. {layout}')
            return paths
        pattern = re.compile(rf'ply_data_{self.split}(\d+)\.h5')
        numbered = []
        for path in glob.glob(osp.join(self.data_root, '*.h5')):
            match = pattern.fullmatch(osp.basename(path))
            if match:
                numbered.append((int(match.group(1)), path))
        if not numbered:
            raise FileNotFoundError(
                f'{self.data_root} holds no ply_data_{self.split}<N>.h5 file '
                f'and no {self.split}_files.txt. {layout}')
        return [path for _, path in sorted(numbered)]
