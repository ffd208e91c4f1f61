"""The class-folder layout of the eight merging tasks: the reader's labels
follow classnames.txt, and every departure from the layout is refused when
the dataset is built, naming the path and the layout."""
import numpy as np
import pytest
from PIL import Image

from adapterx.datasets import (EIGHT_TASK_NAMES, EIGHT_TASKS,
                               ImageFolderTask, benchmark_task,
                               read_templates)
from adapterx.registry import DATASETS

CLASSES = [('AnnualCrop', 'annual crop land'), ('Forest', 'forest'),
           ('River', 'river')]


@pytest.fixture
def task_root(tmp_path, write_image):
    """``<tmp>/data/EuroSAT`` with three classes, two train images and one
    test image each; returns the data root."""
    root = tmp_path / 'data'
    folder = root / 'EuroSAT'
    folder.mkdir(parents=True)
    (folder / 'classnames.txt').write_text(
        ''.join(f'{name}\t{label}\n' for name, label in CLASSES))
    for name, _ in CLASSES:
        for index in range(2):
            write_image(folder / 'train' / name / f'{index}.png')
        write_image(folder / 'test' / name / 'a.jpg')
    return root


def build(root, split='train', **kwargs):
    return ImageFolderTask(data_root=str(root), task='EuroSAT', split=split,
                           serialize_data=False, **kwargs)


def test_labels_follow_the_class_list(task_root):
    dataset = build(task_root, num_classes=3)
    assert dataset.metainfo['classes'] == tuple(
        label for _, label in CLASSES)
    assert dataset.metainfo['folders'] == tuple(name for name, _ in CLASSES)
    samples = [dataset.get_data_info(index) for index in range(len(dataset))]
    assert [(sample['img_path'].split('/')[-2], sample['gt_label'])
            for sample in samples] == [
                (name, label) for label, (name, _) in enumerate(CLASSES)
                for _ in range(2)]
    assert len(build(task_root, 'test')) == 3


def test_a_grey_image_is_read_as_rgb_by_the_pipeline(task_root):
    path = task_root / 'EuroSAT' / 'test' / 'River' / 'a.jpg'
    Image.fromarray(np.full((6, 5), 90, np.uint8)).save(path)
    dataset = DATASETS.build(dict(
        type='ImageFolderTask', data_root=str(task_root), task='EuroSAT',
        split='test', pipeline=[dict(type='LoadImageFromFile'),
                                dict(type='PackInputs')]))
    assert dataset[2]['inputs'].shape == (3, 6, 5)
    assert dataset[2]['data_samples'].gt_label.item() == 2


@pytest.mark.parametrize('lines, message', [
    ('Forest forest\n', r'line 1: .* is not "<folder><TAB><class name>"'),
    ('Forest\t\n', 'line 1: .* both parts non-empty'),
    ('a/b\tforest\n', "line 1: the folder 'a/b' must be a plain folder"),
    ('Forest\tforest\n\nForest\twood\n',
     "line 3: the folder 'Forest' is listed already on line 1"),
    ('\n', 'lists no class'),
])
def test_a_malformed_class_list_is_refused_naming_the_line(
        task_root, lines, message):
    path = task_root / 'EuroSAT' / 'classnames.txt'
    path.write_text(lines)
    with pytest.raises(ValueError, match=f'{path}.*{message}'):
        build(task_root)


def test_the_class_count_of_the_task_is_checked(task_root):
    with pytest.raises(ValueError, match=r'EuroSAT/classnames.txt lists 3 '
                       'classes; task EuroSAT has 10'):
        build(task_root, num_classes=10)


def test_split_folders_must_match_the_class_list(task_root, write_image):
    train = task_root / 'EuroSAT' / 'train'
    write_image(train / 'Highway' / '0.png')
    with pytest.raises(ValueError, match=f"{train} does not match "
                       r"classnames.txt: entries not listed in "
                       r"classnames.txt: \['Highway'\].*Expected layout"):
        build(task_root)
    (train / 'Highway' / '0.png').unlink()
    (train / 'Highway').rmdir()
    for image in (train / 'Forest').iterdir():
        image.unlink()
    (train / 'Forest').rmdir()
    with pytest.raises(ValueError, match=r"class folders missing: "
                       r"\['Forest'\]"):
        build(task_root)


def test_non_images_and_unreadable_images_are_refused(task_root):
    folder = task_root / 'EuroSAT' / 'test' / 'Forest'
    (folder / '.DS_Store').write_text('ignored')
    (folder / 'notes.txt').write_text('not an image')
    with pytest.raises(ValueError, match=f'{folder}/notes.txt is not an '
                       'image file'):
        build(task_root, 'test')
    (folder / 'notes.txt').unlink()
    (folder / 'broken.png').write_bytes(b'not a png')
    with pytest.raises(ValueError, match=f'cannot be read: {folder}/'
                       'broken.png'):
        build(task_root, 'test')


def test_missing_folders_and_unknown_splits_are_named(task_root, tmp_path):
    with pytest.raises(FileNotFoundError, match=f'data root {tmp_path}/'
                       'absent does not exist.*Expected layout'):
        build(tmp_path / 'absent')
    with pytest.raises(FileNotFoundError,
                       match=f'task folder {task_root}/DTD does not exist'):
        ImageFolderTask(data_root=str(task_root), task='DTD', split='train')
    with pytest.raises(ValueError, match="Unknown split 'val'"):
        build(task_root, 'val')
    (task_root / 'EuroSAT' / 'test').rename(task_root / 'EuroSAT' / 'tests')
    with pytest.raises(FileNotFoundError, match=f'split folder {task_root}/'
                       'EuroSAT/test does not exist'):
        build(task_root, 'test')


def test_the_eight_tasks_and_their_templates(task_root):
    assert EIGHT_TASK_NAMES == ('SUN397', 'Cars', 'RESISC45', 'EuroSAT',
                                'SVHN', 'GTSRB', 'MNIST', 'DTD')
    assert [task.num_classes for task in EIGHT_TASKS] == [
        397, 196, 45, 10, 10, 43, 10, 47]
    assert all(template.count('{}') == 1 for task in EIGHT_TASKS
               for template in task.templates)
    assert len(benchmark_task('RESISC45').templates) == 18
    assert read_templates(task_root / 'EuroSAT', 'EuroSAT') == \
        benchmark_task('EuroSAT').templates
    (task_root / 'EuroSAT' / 'templates.txt').write_text('a {} field\n\n')
    assert read_templates(task_root / 'EuroSAT', 'EuroSAT') == \
        ('a {} field', )
    (task_root / 'EuroSAT' / 'templates.txt').write_text('a field\n')
    with pytest.raises(ValueError, match="template 1, 'a field', must hold "
                       'exactly one {}'):
        read_templates(task_root / 'EuroSAT', 'EuroSAT')
    with pytest.raises(KeyError, match="'Eurosat' is not one of the eight "
                       'tasks.*close matches: EuroSAT'):
        benchmark_task('Eurosat')
