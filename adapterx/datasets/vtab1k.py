"""VTAB-1k: the 19 tasks of the Visual Task Adaptation Benchmark with 1,000
training images each, in the image-and-list layout the PEFT literature
distributes::

    <data_root>/                          e.g. data/vtab-1k
    ├── cifar/
    │   ├── train800.txt                  lines "images/<split>/000123.jpg 7"
    │   ├── val200.txt
    │   ├── train800val200.txt            the 1,000 training images
    │   ├── test.txt
    │   └── images/<split>/000123.jpg
    ├── caltech101/
    └── ...                               one folder per task of VTAB1K_TASKS

A list line is an image path relative to the task folder, one space and an
integer label in ``[0, num_classes)``.

Benchmarks with tasks of their own in this layout (the offline proxy of
:mod:`adapterx.datasets.proxy_vtab`) give the reader their task table
(``tasks``); the names of the 19 tasks stay bound to VTAB-1k's class counts.

Protocol: tune hyperparameters training on ``train800`` and evaluating on
``val200``, train the final model on ``train800val200`` and report top-1 on
``test``. Papers report each task, the mean of each group
(``VTAB1K_GROUPS``) and the mean of the three group means or of all 19
tasks.
"""
import os.path as osp
from collections import namedtuple
from collections.abc import Mapping

from mmpretrain.datasets import BaseDataset

from adapterx.registry import DATASETS
from .annotations import (check_listed_images, close_matches,
                          indexed_class_names, read_label_list,
                          require_exists)

VTAB1kTask = namedtuple('VTAB1kTask', ['group', 'num_classes'])

# Task folder name -> (group, number of classes), in the order of the
# published tables.
VTAB1K_TASKS = {
    'cifar': VTAB1kTask('Natural', 100),
    'caltech101': VTAB1kTask('Natural', 102),
    'dtd': VTAB1kTask('Natural', 47),
    'oxford_flowers102': VTAB1kTask('Natural', 102),
    'oxford_iiit_pet': VTAB1kTask('Natural', 37),
    'svhn': VTAB1kTask('Natural', 10),
    'sun397': VTAB1kTask('Natural', 397),
    'patch_camelyon': VTAB1kTask('Specialized', 2),
    'eurosat': VTAB1kTask('Specialized', 10),
    'resisc45': VTAB1kTask('Specialized', 45),
    'diabetic_retinopathy': VTAB1kTask('Specialized', 5),
    'clevr_count': VTAB1kTask('Structured', 8),
    'clevr_dist': VTAB1kTask('Structured', 6),
    'dmlab': VTAB1kTask('Structured', 6),
    'kitti': VTAB1kTask('Structured', 4),
    'dsprites_loc': VTAB1kTask('Structured', 16),
    'dsprites_ori': VTAB1kTask('Structured', 16),
    'smallnorb_azi': VTAB1kTask('Structured', 18),
    'smallnorb_ele': VTAB1kTask('Structured', 9),
}



def task_groups(tasks):
    """Group -> its tasks of a task table (name -> ``VTAB1kTask``), both in
    table order."""
    groups = {}
    for task, info in tasks.items():
        groups.setdefault(info.group, []).append(task)
    return {group: tuple(members) for group, members in groups.items()}


VTAB1K_GROUPS = task_groups(VTAB1K_TASKS)

# Other names of task folders seen in released copies and configs.
VTAB1K_ALIASES = {'cifar100': 'cifar', 'oxford_pet': 'oxford_iiit_pet'}

VTAB1K_SPLITS = ('train800', 'val200', 'train800val200', 'test')

# Split -> the splits whose images it holds, itself included.
VTAB1K_SPLIT_CONTENTS = {
    'train800': ('train800', ),
    'val200': ('val200', ),
    'train800val200': ('train800', 'val200', 'train800val200'),
    'test': ('test', ),
}



def _layout(task_names):
    return (
        'VTAB-1k expects one folder per task under the data root ('
        f'{", ".join(task_names)}), each holding '
        f'{", ".join(split + ".txt" for split in VTAB1K_SPLITS)} with lines '
        '"images/<split>/000123.jpg <label>" (paths relative to the task '
        'folder) and the images they list.')


def vtab1k_task_table(tasks=None):
    """The task table (name -> ``VTAB1kTask``) the reader takes names from:
    ``VTAB1K_TASKS`` when ``tasks`` is None, else ``tasks``, whose values
    may also be ``(group, num_classes)`` pairs or dicts with those keys (as
    a config holds them).

    Raises:
        ValueError: ``tasks`` names a VTAB-1k task or alias (a benchmark of
            its own names its tasks differently, so that the real tasks
            keep their class counts), or a value is no group and positive
            class count.
    """
    if tasks is None:
        return VTAB1K_TASKS
    taken = sorted(set(tasks) & {*VTAB1K_TASKS, *VTAB1K_ALIASES})
    if taken:
        raise ValueError(
            f'The task table names the VTAB-1k task(s) {taken}; give the '
            'tasks of another benchmark names of their own (e.g. a prefix), '
            'the real tasks keep their class counts.')
    table = {}
    for name, info in tasks.items():
        try:
            task = (VTAB1kTask(**info) if isinstance(info, Mapping) else
                    VTAB1kTask(*info))
        except TypeError:
            task = None
        if (task is None or not isinstance(task.group, str)
                or isinstance(task.num_classes, bool)
                or not isinstance(task.num_classes, int)
                or task.num_classes < 1):
            raise ValueError(
                f'Task {name!r} of the task table is {info!r}; expected '
                '(group, num_classes) or dict(group=..., num_classes=...) '
                'with a positive whole number of classes.')
        table[name] = task
    return table


def resolve_vtab1k_task(task, tasks=None):
    """The folder name of a task, given the name or (VTAB-1k's table) an
    alias; ``tasks`` as :func:`vtab1k_task_table` takes it."""
    if tasks is not None:
        table = vtab1k_task_table(tasks)
        if task in table:
            return task
        raise ValueError(
            f'Unknown task {task!r}{close_matches(task, table)}; the task '
            f'table given has {", ".join(table)}.')
    if task in VTAB1K_TASKS:
        return task
    if task in VTAB1K_ALIASES:
        return VTAB1K_ALIASES[task]
    raise ValueError(
        f'Unknown VTAB-1k task {task!r}'
        f'{close_matches(task, [*VTAB1K_TASKS, *VTAB1K_ALIASES])}. The 19 '
        f'tasks: {", ".join(VTAB1K_TASKS)}; aliases: '
        f'{", ".join(f"{a} -> {t}" for a, t in VTAB1K_ALIASES.items())}.')


@DATASETS.register_module()
class VTAB1k(BaseDataset):
    """One VTAB-1k task (see the module docstring for the layout).

    Everything is checked when the dataset is built: the folders and the
    list file exist, every line parses, every label is in
    ``[0, num_classes)`` and every listed image exists and can be read
    (``image_check``).

    Args:
        data_root (str): The folder holding one folder per task.
        task (str): A key of ``VTAB1K_TASKS`` or of ``VTAB1K_ALIASES``, or
            of ``tasks`` when given.
        split (str): ``'train800'``, ``'val200'``, ``'train800val200'`` or
            ``'test'``.
        pipeline (Sequence): Transforms; the samples hold ``img_path``
            (absolute) and ``gt_label``.
        metainfo (dict, optional): The class names default to
            ``class_0``, ``class_1``, ...
        image_check (str): ``'verify'`` (default): open each listed image
            once with PIL when the dataset is built (and decode the JPEGs
            cut short); ``'decode'``: decode each in full (also finds
            damage inside complete files); ``'exists'``: only check that
            the files exist, for splits too large to open
            (see :func:`~adapterx.datasets.annotations.check_listed_images`).
        tasks (dict, optional): The task table of a benchmark in this
            layout with tasks of its own (see :func:`vtab1k_task_table`),
            e.g. ``PROXY_VTAB_TASKS``; None (default) for VTAB-1k's.
        **kwargs: Other arguments of mmpretrain's ``BaseDataset``
            (``indices``, ``test_mode``, ``lazy_init``, ``classes``, ...).
    """

    def __init__(self, data_root, task, split, pipeline=(), metainfo=None,
                 image_check='verify', tasks=None, **kwargs):
        table = vtab1k_task_table(tasks)
        self.task = resolve_vtab1k_task(task, tasks)
        self._layout = _layout(table)
        self.image_check = image_check
        if split not in VTAB1K_SPLITS:
            raise ValueError(
                f'Unknown VTAB-1k split {split!r}'
                f'{close_matches(split, VTAB1K_SPLITS)}; the splits are '
                f'{", ".join(VTAB1K_SPLITS)}.')
        self.split = split
        self.num_classes = table[self.task].num_classes
        super().__init__(
            ann_file=osp.join(self.task, f'{split}.txt'),
            data_root=data_root,
            data_prefix=self.task,
            pipeline=pipeline,
            metainfo=indexed_class_names(metainfo, self.num_classes,
                                         kwargs.get('classes')),
            **kwargs)

    @staticmethod
    def split_contains(split, other):
        """Whether every image of split ``other`` is in ``split`` of the
        same task (``train800val200`` holds ``train800`` and ``val200``)."""
        return other in VTAB1K_SPLIT_CONTENTS.get(split, (split, ))

    def load_data_list(self):
        if self.data_root:
            require_exists(self.data_root, 'VTAB-1k data root', self._layout)
        require_exists(self.img_prefix, f'VTAB-1k task folder {self.task!r}',
                       self._layout)
        require_exists(self.ann_file, f'VTAB-1k {self.split} list file',
                       self._layout)
        samples = read_label_list(self.ann_file, self.num_classes)
        image_paths = [
            osp.abspath(osp.join(self.img_prefix, path))
            for path, _ in samples
        ]
        check_listed_images(image_paths, self.ann_file, self.image_check)
        return [
            dict(img_path=path, gt_label=label)
            for path, (_, label) in zip(image_paths, samples)
        ]

    def extra_repr(self):
        return [f'Task: \t{self.task}', f'Split: \t{self.split}',
                *super().extra_repr()]
