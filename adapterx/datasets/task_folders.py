"""Image classification tasks stored as class folders, the layout of the
eight tasks of the CLIP merging benchmark (task arithmetic and the merging
methods compared on it): SUN397, Cars, RESISC45, EuroSAT, SVHN, GTSRB,
MNIST and DTD. One layout serves every task::

    <data_root>/                 e.g. data/clip_8tasks
    └── <task>/                  e.g. EuroSAT (the names in EIGHT_TASKS)
        ├── classnames.txt       one line per class, in label order:
        │                        <folder><TAB><class name>
        ├── templates.txt        optional: prompt templates, one a line,
        │                        each with one {} for the class name
        ├── train/<folder>/<image files>
        └── test/<folder>/<image files>

Line ``i`` of ``classnames.txt`` is label ``i``: the folder holding that
class's images under ``train/`` and ``test/``, and the name CLIP's prompts
use (``AnnualCrop<TAB>annual crop land``). Folder and name may be equal;
the name may hold characters a folder name cannot (Cars' ``Ram C/V Cargo
Van Minivan 2012``). Images are ``.png``, ``.jpg``, ``.jpeg``, ``.bmp``,
``.ppm``, ``.tif``, ``.tiff`` or ``.webp`` files (grey images are read as
RGB); names starting with ``.`` are ignored.

The zero-shot heads (``tools/model_converters/clip_zeroshot_heads.py``)
read the same ``classnames.txt``, so a head's rows are the reader's labels.
Prompt templates: the task's ``templates.txt`` if it has one, else CLIP's
templates of the task in :data:`EIGHT_TASKS`.

Everything is checked when a dataset is built, before any model runs; an
error names the path at fault and the layout expected.
"""
import os
import os.path as osp
from dataclasses import dataclass
from typing import List, Optional, Tuple

from mmpretrain.datasets import BaseDataset

from adapterx.registry import DATASETS
from .annotations import check_listed_images, close_matches, require_exists

SPLITS = ('train', 'test')
CLASS_FILE = 'classnames.txt'
TEMPLATE_FILE = 'templates.txt'
IMAGE_SUFFIXES = ('.png', '.jpg', '.jpeg', '.bmp', '.ppm', '.tif', '.tiff',
                  '.webp')
LAYOUT = (
    'Expected layout: <data_root>/<task>/classnames.txt (one '
    '"<folder><TAB><class name>" line per class, in label order) and '
    '<data_root>/<task>/{train,test}/<folder>/<image files> for every '
    'listed folder and no other (see adapterx/datasets/task_folders.py and '
    'docs/merging_clip.md).')


@dataclass(frozen=True)
class BenchmarkTask:
    """A task of the benchmark: its folder name, class count and CLIP's
    prompt templates for it."""
    name: str
    num_classes: int
    templates: Tuple[str, ...]


_SATELLITE_VIEWS = tuple(
    f'{source} {view} of {article}{{}}.'
    for article in ('', 'a ', 'the ')
    for view in ('imagery', 'photo', 'view')
    for source in ('satellite', 'aerial'))
_NUMBER = ('a photo of the number: "{}".', )

# The eight tasks in the order of the benchmark's tables, with the prompt
# templates of CLIP's zero-shot evaluation that task arithmetic uses.
EIGHT_TASKS = (
    BenchmarkTask('SUN397', 397, ('a photo of a {}.', 'a photo of the {}.')),
    BenchmarkTask('Cars', 196, (
        'a photo of a {}.', 'a photo of the {}.', 'a photo of my {}.',
        'i love my {}!', 'a photo of my dirty {}.', 'a photo of my clean {}.',
        'a photo of my new {}.', 'a photo of my old {}.')),
    BenchmarkTask('RESISC45', 45, _SATELLITE_VIEWS),
    BenchmarkTask('EuroSAT', 10, tuple(
        f'a centered satellite photo of {article}{{}}.'
        for article in ('', 'a ', 'the '))),
    BenchmarkTask('SVHN', 10, _NUMBER),
    BenchmarkTask('GTSRB', 43, tuple(
        f'a {view} photo of a "{{}}" traffic sign.'
        for view in ('zoomed in', 'centered', 'close up'))),
    BenchmarkTask('MNIST', 10, _NUMBER),
    BenchmarkTask('DTD', 47, tuple(
        f'a photo of {article} {{}} {kind}.' for article in ('a', 'the')
        for kind in ('texture', 'pattern', 'thing', 'object'))),
)
EIGHT_TASK_NAMES = tuple(task.name for task in EIGHT_TASKS)


def benchmark_task(name: str) -> BenchmarkTask:
    """The entry of :data:`EIGHT_TASKS` named ``name``.

    Raises:
        KeyError: Not one of the eight (close matches named).
    """
    for task in EIGHT_TASKS:
        if task.name == name:
            return task
    raise KeyError(f'{name!r} is not one of the eight tasks '
                   f'{EIGHT_TASK_NAMES}{close_matches(name, EIGHT_TASK_NAMES)}')


def read_class_names(task_dir) -> List[Tuple[str, str]]:
    """``(folder, class name)`` per line of ``<task_dir>/classnames.txt``,
    in label order.

    Raises:
        FileNotFoundError: No such file.
        ValueError: A line is not ``<folder><TAB><class name>`` with both
            parts non-empty, a folder is a path or listed twice, or the
            file lists no class (the message names the file and line).
    """
    path = osp.join(task_dir, CLASS_FILE)
    require_exists(task_dir, 'The task folder', LAYOUT)
    require_exists(path, 'The class list', LAYOUT)
    classes, lines_of = [], {}
    with open(path, encoding='utf-8') as file:
        for number, line in enumerate(file, 1):
            line = line.rstrip('\r\n')
            if not line.strip():
                continue
            parts = line.split('\t')
            if len(parts) != 2 or not all(part.strip() for part in parts):
                raise ValueError(
                    f'{path}, line {number}: {line!r} is not '
                    '"<folder><TAB><class name>" (one tab, both parts '
                    'non-empty)')
            folder, name = parts[0].strip(), parts[1].strip()
            if '/' in folder or folder in ('.', '..'):
                raise ValueError(f'{path}, line {number}: the folder '
                                 f'{folder!r} must be a plain folder name')
            if folder in lines_of:
                raise ValueError(
                    f'{path}, line {number}: the folder {folder!r} is '
                    f'listed already on line {lines_of[folder]}')
            lines_of[folder] = number
            classes.append((folder, name))
    if not classes:
        raise ValueError(f'{path} lists no class. {LAYOUT}')
    return classes


def read_templates(task_dir, task: str) -> Tuple[str, ...]:
    """The prompt templates of a task: ``<task_dir>/templates.txt`` (one a
    line) if it exists, else :data:`EIGHT_TASKS`' for ``task``.

    Raises:
        ValueError: The file lists none, or a template lacks its ``{}``
            (or has more than one).
        KeyError: Neither a file nor one of the eight tasks.
    """
    path = osp.join(task_dir, TEMPLATE_FILE)
    if not osp.exists(path):
        try:
            return benchmark_task(task).templates
        except KeyError as error:
            raise KeyError(f'{error.args[0]}; give its prompt templates in '
                           f'{path}, one a line with {{}} for the class '
                           'name') from None
    with open(path, encoding='utf-8') as file:
        templates = tuple(line.strip() for line in file if line.strip())
    if not templates:
        raise ValueError(f'{path} lists no prompt template')
    for number, template in enumerate(templates, 1):
        if template.count('{}') != 1:
            raise ValueError(f'{path}: template {number}, {template!r}, '
                             'must hold exactly one {} for the class name')
    return templates


def _split_images(split_dir, folders) -> List[Tuple[str, int]]:
    """``(image path, label)`` of every image of a split, checking that its
    folders are exactly ``folders``."""
    require_exists(split_dir, 'The split folder', LAYOUT)
    present = {entry for entry in os.listdir(split_dir)
               if not entry.startswith('.')}
    missing = [folder for folder in folders if folder not in present]
    unlisted = sorted(present - set(folders))
    if missing or unlisted:
        raise ValueError(
            f'{split_dir} does not match {CLASS_FILE}: '
            + (f'class folders missing: {missing[:5]}'
               f'{" ..." if len(missing) > 5 else ""}; ' if missing else '')
            + (f'entries not listed in {CLASS_FILE}: {unlisted[:5]}'
               f'{" ..." if len(unlisted) > 5 else ""}; ' if unlisted else '')
            + LAYOUT)
    samples = []
    for label, folder in enumerate(folders):
        class_dir = osp.join(split_dir, folder)
        if not osp.isdir(class_dir):
            raise ValueError(f'{class_dir} is not a folder. {LAYOUT}')
        for entry in sorted(os.listdir(class_dir)):
            if entry.startswith('.'):
                continue
            path = osp.join(class_dir, entry)
            if not entry.lower().endswith(IMAGE_SUFFIXES) or \
                    not osp.isfile(path):
                raise ValueError(
                    f'{path} is not an image file (a class folder holds '
                    f'{", ".join(IMAGE_SUFFIXES)} files only). {LAYOUT}')
            samples.append((osp.abspath(path), label))
    return samples


@DATASETS.register_module()
class ImageFolderTask(BaseDataset):
    """One split of a task in the class-folder layout (module docstring).

    The metainfo's ``classes`` are the class names of ``classnames.txt``
    and ``folders`` their folders, in label order.

    Args:
        data_root (str): The folder holding the task folders.
        task (str): The task's folder name (e.g. ``'EuroSAT'``).
        split (str): ``'train'`` or ``'test'``.
        num_classes (int, optional): Refuse a ``classnames.txt`` with
            another number of classes (the configs of the eight tasks pass
            theirs).
        pipeline (Sequence): Transforms; samples hold ``img_path`` and
            ``gt_label``.
        image_check (str): ``'verify'`` (default), ``'decode'`` or
            ``'exists'`` (see
            :func:`~adapterx.datasets.annotations.check_listed_images`).
        **kwargs: Other arguments of mmpretrain's ``BaseDataset``.
    """

    def __init__(self, data_root: str, task: str, split: str,
                 num_classes: Optional[int] = None, pipeline=(),
                 image_check: str = 'verify', **kwargs):
        if split not in SPLITS:
            raise ValueError(f'Unknown split {split!r} of task {task!r}'
                             f'{close_matches(split, SPLITS)}; the splits '
                             f'are {", ".join(SPLITS)}.')
        self.task, self.split = task, split
        self.num_classes = num_classes
        self.image_check = image_check
        super().__init__(ann_file='', data_root=data_root, pipeline=pipeline,
                         **kwargs)

    @property
    def task_dir(self) -> str:
        return osp.join(self.data_root, self.task)

    def load_data_list(self):
        require_exists(self.data_root, 'The data root', LAYOUT)
        classes = read_class_names(self.task_dir)
        if self.num_classes is not None and \
                len(classes) != self.num_classes:
            raise ValueError(
                f'{osp.join(self.task_dir, CLASS_FILE)} lists '
                f'{len(classes)} classes; task {self.task} has '
                f'{self.num_classes}.')
        folders = [folder for folder, _ in classes]
        self._metainfo['classes'] = tuple(name for _, name in classes)
        self._metainfo['folders'] = tuple(folders)
        split_dir = osp.join(self.task_dir, self.split)
        samples = _split_images(split_dir, folders)
        check_listed_images([path for path, _ in samples], split_dir,
                            self.image_check)
        return [dict(img_path=path, gt_label=label)
                for path, label in samples]

    def extra_repr(self):
        return [f'Task: \t{self.task}', f'Split: \t{self.split}',
                *super().extra_repr()]
