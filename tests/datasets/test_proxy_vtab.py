"""The offline VTAB-style proxy tasks: generated deterministically, labels
balanced and meaning what they say, written in the VTAB-1k layout and read
(or refused, naming the file) by the VTAB-1k reader."""
from collections import Counter

import numpy as np
import pytest

from adapterx.datasets import (PROXY_VTAB_TASKS, VTAB1K_TASKS, VTAB1k,
                               vtab1k_task_table, write_proxy_vtab)
from adapterx.datasets.proxy_vtab import (GENERATORS, IMAGE_SIZE,
                                          PROXY_VTAB_MIRRORS, balanced_labels,
                                          task_samples, write_proxy_task)
from adapterx.datasets.vtab1k import task_groups
from adapterx.evaluation import summarise_vtab


def read(root, task, split, **kwargs):
    return VTAB1k(data_root=str(root), task=task, split=split,
                  tasks=PROXY_VTAB_TASKS, serialize_data=False, **kwargs)


def test_the_task_table_mirrors_vtab_groups():
    assert list(task_groups(PROXY_VTAB_TASKS)) == [
        'Natural', 'Specialized', 'Structured']
    for task, mirrored in PROXY_VTAB_MIRRORS.items():
        assert PROXY_VTAB_TASKS[task].group == VTAB1K_TASKS[mirrored].group \
            or mirrored == 'dtd'  # a texture task, Specialized here
    assert set(PROXY_VTAB_MIRRORS) == set(PROXY_VTAB_TASKS)
    # Each generated structured task has VTAB-1k's class count.
    for task in ('proxy_count', 'proxy_distance', 'proxy_location',
                 'proxy_orientation', 'proxy_azimuth', 'proxy_elevation'):
        assert PROXY_VTAB_TASKS[task].num_classes == \
            VTAB1K_TASKS[PROXY_VTAB_MIRRORS[task]].num_classes


def test_balanced_labels():
    labels = balanced_labels(200, 16, np.random.default_rng(0))
    assert sorted(Counter(labels).values()) == [12] * 8 + [13] * 8
    assert list(labels[:16]) != list(range(16))  # shuffled


@pytest.mark.parametrize('task', sorted(GENERATORS))
def test_generated_splits_are_balanced_images_in_range(task):
    num_classes = PROXY_VTAB_TASKS[task].num_classes
    images, labels = task_samples(task, 'test', num_test=2 * num_classes)
    assert images.shape == (2 * num_classes, IMAGE_SIZE, IMAGE_SIZE, 3)
    assert images.dtype == np.uint8
    assert Counter(labels.tolist()) == {label: 2
                                        for label in range(num_classes)}
    # Not blank: every image has some contrast.
    assert (images.reshape(len(images), -1).std(axis=1) > 5).all()


def test_generation_is_deterministic_per_seed():
    first = task_samples('proxy_texture', 'test', seed=0, num_test=8)
    again = task_samples('proxy_texture', 'test', seed=0, num_test=8)
    other = task_samples('proxy_texture', 'test', seed=1, num_test=8)
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not np.array_equal(first[0], other[0])
    # Splits are different draws.
    val = task_samples('proxy_texture', 'val200', seed=0)[0][:8]
    assert not np.array_equal(first[0], val)


def test_digits_are_split_by_class_without_overlap():
    from sklearn.datasets import load_digits
    splits = {split: task_samples('proxy_digits', split)
              for split in ('train800', 'val200', 'test')}
    assert Counter(splits['train800'][1].tolist()) == {d: 80
                                                      for d in range(10)}
    assert Counter(splits['val200'][1].tolist()) == {d: 20
                                                    for d in range(10)}
    assert len(splits['test'][1]) == 1797 - 1000
    # Together the splits are the 1,797 digits, each once.
    written = sorted(image[::4, ::4, 0].tobytes()
                     for images, _ in splits.values() for image in images)
    grey = (load_digits().images * (255 / 16)).round().astype(np.uint8)
    source = sorted(image.tobytes() for image in grey)
    assert written == source


def test_mnist_test_split_is_the_rest():
    images, labels = task_samples('proxy_mnist', 'test')
    assert images.shape == (4000, 32, 32, 3)
    assert Counter(labels.tolist()) == {d: 400 for d in range(10)}
    # Padded 28x28 digits: the border is black.
    assert images[:, :2].max() == 0 and images[:, :, -2:].max() == 0


def test_location_label_is_the_grid_cell_of_the_sprite():
    images, labels = task_samples('proxy_location', 'test', num_test=64)
    for image, label in zip(images, labels):
        ys, xs = np.nonzero(image[..., 0] > 127)
        row, column = divmod(int(label), 4)
        # The cells tile the centres' range [0.16, 0.84] of the side.
        cell = IMAGE_SIZE * 0.68 / 4
        low = IMAGE_SIZE * 0.16 + cell * np.array([column, row])
        centre = np.array([xs.mean(), ys.mean()]) + 0.5
        assert (low - 1.5 <= centre).all() and (centre <= low + cell +
                                                1.5).all()


def test_orientation_label_is_the_arrow_direction():
    images, labels = task_samples('proxy_orientation', 'test', num_test=64)
    for image, label in zip(images, labels):
        ys, xs = np.nonzero(image[..., 0] > 127)
        angle = 2 * np.pi * (int(label) + 0.5) / 16  # clockwise on screen
        along = xs * np.cos(angle) + ys * np.sin(angle)
        across = -xs * np.sin(angle) + ys * np.cos(angle)
        # Long along the labelled direction, and the head (the wide end)
        # at its far side: the pixels' mean lies beyond the middle.
        assert along.std() > 1.5 * across.std()
        assert along.mean() > (along.min() + along.max()) / 2


@pytest.fixture(scope='module')
def written(tmp_path_factory):
    root = tmp_path_factory.mktemp('proxy')
    assert write_proxy_vtab(root, ['proxy_orientation'], num_test=16) == [
        'proxy_orientation']
    return root


def test_written_task_is_read_by_the_vtab_reader(written):
    sizes = {'train800': 800, 'val200': 200, 'train800val200': 1000,
             'test': 16}
    for split, size in sizes.items():
        dataset = read(written, 'proxy_orientation', split)
        assert len(dataset) == size
        assert dataset.num_classes == 16
    _, labels = task_samples('proxy_orientation', 'test', num_test=16)
    test = read(written, 'proxy_orientation', 'test')
    assert [test.get_data_info(i)['gt_label'] for i in range(16)] == list(
        labels)
    assert not list(written.glob('.*partial'))


def test_a_task_folder_there_is_left_alone(written):
    listing = (written / 'proxy_orientation' / 'test.txt').read_text()
    assert write_proxy_vtab(written, ['proxy_orientation']) == []
    assert (written / 'proxy_orientation' / 'test.txt').read_text() == listing


def test_proxy_names_need_the_proxy_table(written):
    with pytest.raises(ValueError, match="Unknown VTAB-1k task "
                       "'proxy_orientation'"):
        VTAB1k(data_root=str(written), task='proxy_orientation',
               split='test')
    with pytest.raises(ValueError, match="task 'proxy_orientaton' "
                       r'\(close matches: proxy_orientation'):
        read(written, 'proxy_orientaton', 'test')


def test_bad_proxy_layout_is_refused_naming_the_file(written, tmp_path):
    import shutil
    root = tmp_path / 'copy'
    shutil.copytree(written / 'proxy_orientation', root / 'proxy_orientation')
    folder = root / 'proxy_orientation'
    (folder / 'val200.txt').unlink()
    with pytest.raises(FileNotFoundError, match='val200.txt does not exist'):
        read(root, 'proxy_orientation', 'val200')
    # A label outside the task's 16 classes, named with its file and line.
    lines = (folder / 'test.txt').read_text().splitlines()
    lines[2] = lines[2].rsplit(' ', 1)[0] + ' 16'
    (folder / 'test.txt').write_text('\n'.join(lines) + '\n')
    with pytest.raises(ValueError, match=r'test.txt, line 3: label 16 is '
                       r'outside \[0, 16\)'):
        read(root, 'proxy_orientation', 'test')
    (folder / 'images' / 'train800' / '000005.png').unlink()
    with pytest.raises(FileNotFoundError,
                       match=r'train800.txt do not exist: .*000005.png'):
        read(root, 'proxy_orientation', 'train800')


def test_writing_an_unknown_task_is_refused(tmp_path):
    with pytest.raises(ValueError, match="Unknown proxy task 'proxy_cifar'"):
        write_proxy_task(tmp_path, 'proxy_cifar')


def test_task_tables_keep_vtab_names_and_check_their_entries():
    table = vtab1k_task_table({'a': ('Natural', 3),
                               'b': dict(group='Structured', num_classes=4)})
    assert table['a'].num_classes == 3 and table['b'].group == 'Structured'
    assert vtab1k_task_table(None) is VTAB1K_TASKS
    with pytest.raises(ValueError, match=r"VTAB-1k task\(s\) \['cifar'\]"):
        vtab1k_task_table({'cifar': ('Natural', 10)})
    with pytest.raises(ValueError, match=r"VTAB-1k task\(s\) \['cifar100'\]"):
        vtab1k_task_table({'cifar100': ('Natural', 10)})
    for bad in (('Natural', 0), ('Natural', 2.5), ('Natural', ), 7):
        with pytest.raises(ValueError, match="Task 'a' of the task table"):
            vtab1k_task_table({'a': bad})


def test_summaries_of_a_task_table_of_its_own():
    accuracies = {task: 50.0 for task in PROXY_VTAB_TASKS}
    accuracies.update(proxy_digits=70.0, proxy_texture=80.0)
    summary = summarise_vtab(accuracies, PROXY_VTAB_TASKS)
    assert summary.group_means == pytest.approx(
        {'Natural': 60.0, 'Specialized': 80.0, 'Structured': 50.0})
    assert summary.mean_of_group_means == pytest.approx(190 / 3)
    assert summary.markdown().startswith('| proxy_digits | proxy_mnist |')
    with pytest.raises(ValueError, match='cifar'):
        summarise_vtab({'cifar': 1.0}, PROXY_VTAB_TASKS)
