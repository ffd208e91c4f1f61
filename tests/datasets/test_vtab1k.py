from pathlib import Path

import pytest
from mmengine.config import Config

import adapterx.datasets  # noqa: F401 (registers the datasets)
from adapterx.datasets import (VTAB1K_GROUPS, VTAB1K_SPLITS, VTAB1K_TASKS,
                               VTAB1k)
from adapterx.registry import DATASETS

CONFIG = Path(__file__).resolve().parents[2] / 'configs' / '_base_' / \
    'datasets' / 'vtab1k.py'


def vtab1k(**kwargs):
    # mmengine's serialisation of the sample list runs gc.collect(), about
    # 0.4 s with torch imported; the end-to-end test keeps it.
    return VTAB1k(serialize_data=False, **kwargs)


@pytest.fixture
def make_task(tmp_path, write_image):
    """Write ``<tmp>/vtab-1k/<task>/<split>.txt`` listing one image per
    label, the images under ``images/<split>/``; return the data root."""
    root = tmp_path / 'vtab-1k'

    def make(task, labels=(0, 1, 2), splits=VTAB1K_SPLITS,
             suffix='.jpg', size=(8, 8)):
        for split in splits:
            lines = []
            for index, label in enumerate(labels):
                relative = f'images/{split}/{index:06d}{suffix}'
                write_image(root / task / relative, size)
                lines.append(f'{relative} {label}')
            (root / task / f'{split}.txt').write_text('\n'.join(lines) + '\n')
        return root

    return make


def test_tables():
    assert len(VTAB1K_TASKS) == 19
    assert {group: len(tasks) for group, tasks in VTAB1K_GROUPS.items()} \
        == {'Natural': 7, 'Specialized': 4, 'Structured': 8}
    assert list(VTAB1K_GROUPS) == ['Natural', 'Specialized', 'Structured']
    assert VTAB1K_TASKS['sun397'] == ('Natural', 397)
    assert VTAB1K_TASKS['diabetic_retinopathy'].num_classes == 5
    assert VTAB1K_TASKS['smallnorb_azi'].group == 'Structured'


def test_samples(make_task):
    root = make_task('dtd', labels=(3, 0, 46))
    dataset = vtab1k(data_root=str(root), task='dtd', split='train800')
    assert len(dataset) == 3
    for index, label in enumerate((3, 0, 46)):
        sample = dataset.get_data_info(index)
        expected = root / 'dtd' / 'images' / 'train800' / f'{index:06d}.jpg'
        assert sample['img_path'] == str(expected)
        assert Path(sample['img_path']).is_absolute()
        assert sample['gt_label'] == label


def test_relative_data_root_gives_absolute_paths(make_task, monkeypatch):
    root = make_task('svhn', splits=['test'])
    monkeypatch.chdir(root.parent)
    dataset = vtab1k(data_root='vtab-1k', task='svhn', split='test')
    assert dataset.get_data_info(0)['img_path'] == str(
        root / 'svhn' / 'images' / 'test' / '000000.jpg')


@pytest.mark.parametrize('task', ['cifar', 'patch_camelyon', 'sun397',
                                  'smallnorb_ele'])
def test_class_count(make_task, task):
    root = make_task(task, labels=(0, 1), splits=['val200'])
    dataset = vtab1k(data_root=str(root), task=task, split='val200')
    num_classes = VTAB1K_TASKS[task].num_classes
    assert dataset.num_classes == num_classes
    assert len(dataset.metainfo['classes']) == num_classes
    assert dataset.metainfo['classes'][:2] == ('class_0', 'class_1')


def test_user_class_names_win(make_task):
    root = make_task('svhn', splits=['test'])
    names = [f'digit {i}' for i in range(10)]
    dataset = vtab1k(
        data_root=str(root), task='svhn', split='test', classes=names)
    assert dataset.metainfo['classes'] == tuple(names)


@pytest.mark.parametrize('alias,task', [('cifar100', 'cifar'),
                                        ('oxford_pet', 'oxford_iiit_pet')])
def test_aliases(make_task, alias, task):
    root = make_task(task, splits=['test'])
    dataset = vtab1k(data_root=str(root), task=alias, split='test')
    assert dataset.task == task
    assert f'{root / task}' in dataset.get_data_info(0)['img_path']


def test_unknown_task_names_close_matches(tmp_path):
    with pytest.raises(ValueError, match='dsprites') as error:
        vtab1k(data_root=str(tmp_path), task='dsprite_loc', split='test')
    assert "Unknown VTAB-1k task 'dsprite_loc'" in str(error.value)
    assert 'close matches: dsprites_loc' in str(error.value)


def test_unknown_split(tmp_path):
    with pytest.raises(ValueError, match="'train' \\(close matches: "
                       'train800'):
        vtab1k(data_root=str(tmp_path), task='dtd', split='train')


def test_missing_data_root(tmp_path):
    root = tmp_path / 'nowhere'
    with pytest.raises(FileNotFoundError) as error:
        vtab1k(data_root=str(root), task='dtd', split='test')
    message = str(error.value)
    assert f'VTAB-1k data root {root} does not exist' in message
    # The expected layout: all 19 tasks and the four list files.
    assert all(task in message for task in VTAB1K_TASKS)
    assert all(f'{split}.txt' in message for split in VTAB1K_SPLITS)


def test_missing_task_folder(make_task):
    root = make_task('dtd')
    with pytest.raises(FileNotFoundError) as error:
        vtab1k(data_root=str(root), task='kitti', split='test')
    message = str(error.value)
    assert f"task folder 'kitti' {root / 'kitti'} does not exist" in message
    assert 'train800val200.txt' in message


def test_missing_list_file(make_task):
    root = make_task('eurosat', splits=['train800'])
    with pytest.raises(FileNotFoundError) as error:
        vtab1k(data_root=str(root), task='eurosat', split='test')
    message = str(error.value)
    assert f"list file {root / 'eurosat' / 'test.txt'} does not exist" \
        in message
    assert 'val200.txt' in message


@pytest.mark.parametrize('bad_line', ['images/test/000001.jpg',
                                      'images/test/000001.jpg seven',
                                      'images/test/000001.jpg 1.0'])
def test_unparsable_line(make_task, bad_line):
    root = make_task('dtd', splits=['test'])
    list_file = root / 'dtd' / 'test.txt'
    list_file.write_text(f'images/test/000000.jpg 0\n{bad_line}\n')
    with pytest.raises(ValueError) as error:
        vtab1k(data_root=str(root), task='dtd', split='test')
    message = str(error.value)
    assert f'{list_file}, line 2: cannot parse {bad_line!r}' in message
    assert '"<image path> <integer label>"' in message


@pytest.mark.parametrize('label', [10, -1])
def test_label_out_of_range(make_task, label):
    root = make_task('eurosat', splits=['test'])
    list_file = root / 'eurosat' / 'test.txt'
    list_file.write_text(
        f'images/test/000000.jpg 9\n\nimages/test/000001.jpg {label}\n')
    with pytest.raises(ValueError) as error:
        vtab1k(data_root=str(root), task='eurosat', split='test')
    assert f'{list_file}, line 3: label {label} is outside [0, 10)' \
        in str(error.value)


def test_missing_images_are_named(make_task):
    root = make_task('dtd', labels=range(8), splits=['test'])
    for index in (1, 2, 3, 4, 5, 6, 7):
        (root / 'dtd' / 'images' / 'test' / f'{index:06d}.jpg').unlink()
    with pytest.raises(FileNotFoundError) as error:
        vtab1k(data_root=str(root), task='dtd', split='test')
    message = str(error.value)
    list_file = root / 'dtd' / 'test.txt'
    assert f'7 of the 8 images listed in {list_file} do not exist' in message
    assert str(root / 'dtd' / 'images' / 'test' / '000001.jpg') in message
    assert '000006.jpg' not in message and message.endswith(', ...')


def test_unreadable_images_are_named_before_training(make_task):
    root = make_task('dtd', labels=range(4), splits=['test'], size=(64, 64))
    images = root / 'dtd' / 'images' / 'test'
    (images / '000001.jpg').write_bytes(b'')  # a failed download
    (images / '000002.jpg').write_text('<html>404 Not Found</html>')
    jpeg = (images / '000003.jpg').read_bytes()
    # Cut at 60%: PIL's verify() passes it; mmcv's loader fails on it.
    (images / '000003.jpg').write_bytes(jpeg[:len(jpeg) * 6 // 10])
    list_file = root / 'dtd' / 'test.txt'

    for image_check in ('verify', 'decode'):
        with pytest.raises(ValueError) as error:
            vtab1k(data_root=str(root), task='dtd', split='test',
                   image_check=image_check)
        message = str(error.value)
        assert message.startswith(
            f'3 of the 4 images listed in {list_file} cannot be read: '
            f'{images / "000001.jpg"} (cannot identify image file')
        assert str(images / '000002.jpg') in message
        assert f'{images / "000003.jpg"} (image file is truncated' in message
        assert '000000.jpg' not in message

    dataset = vtab1k(data_root=str(root), task='dtd', split='test',
                     image_check='exists')
    assert len(dataset) == 4


def test_verify_decodes_only_jpegs_without_end_marker(make_task,
                                                      monkeypatch):
    from PIL import ImageFile
    root = make_task('dtd', labels=range(3), splits=['test'], size=(64, 64))
    images = root / 'dtd' / 'images' / 'test'
    # Data after the end marker (a camera's trailer) is no truncation.
    with open(images / '000001.jpg', 'ab') as file:
        file.write(b'trailer' * 1000)
    decoded = []
    load = ImageFile.ImageFile.load

    def counting_load(image):
        decoded.append(image.filename)
        return load(image)

    monkeypatch.setattr(ImageFile.ImageFile, 'load', counting_load)
    assert len(vtab1k(data_root=str(root), task='dtd', split='test')) == 3
    # The complete files cost a read of their tail, not a decode.
    assert decoded == [str(images / '000001.jpg')]


def png_start(width, height):
    """The signature, header and first data chunk of a ``width`` x
    ``height`` grey PNG: all PIL reads before it checks the pixel count."""
    import struct
    import zlib

    def chunk(kind, data):
        return (struct.pack('>I', len(data)) + kind + data +
                struct.pack('>I', zlib.crc32(kind + data)))

    header = struct.pack('>IIBBBBB', width, height, 8, 0, 0, 0, 0)
    return (b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', header) +
            chunk(b'IDAT', zlib.compress(b'\0' * (width + 1))))


def test_decompression_bomb_is_named_with_the_limit(make_task):
    root = make_task('dtd', labels=range(2), splits=['test'], suffix='.png')
    bomb = root / 'dtd' / 'images' / 'test' / '000001.png'
    bomb.write_bytes(png_start(15000, 15000))
    list_file = root / 'dtd' / 'test.txt'
    for image_check in ('verify', 'decode'):
        with pytest.raises(ValueError) as error:
            vtab1k(data_root=str(root), task='dtd', split='test',
                   image_check=image_check)
        message = str(error.value)
        assert message.startswith(
            f'1 of the 2 images listed in {list_file} cannot be read: '
            f'{bomb} (Image size (225000000 pixels) exceeds limit')
        assert 'twice PIL.Image.MAX_IMAGE_PIXELS (now 89478485)' in message


def test_unknown_image_check(make_task):
    root = make_task('dtd', splits=['test'])
    with pytest.raises(ValueError, match=r"got 'verfy' \(close matches: "
                       r'verify\)'):
        vtab1k(data_root=str(root), task='dtd', split='test',
               image_check='verfy')


def test_empty_list(make_task):
    root = make_task('dtd', splits=['test'])
    (root / 'dtd' / 'test.txt').write_text('\n')
    with pytest.raises(ValueError, match='test.txt lists no images'):
        vtab1k(data_root=str(root), task='dtd', split='test')


def test_base_config_end_to_end(make_task):
    root = make_task('cifar', splits=['test'], suffix='.png', size=(32, 24))
    cfg = Config.fromfile(str(CONFIG))
    assert cfg.train_dataloader.dataset.split == 'train800val200'
    assert cfg.val_dataloader.dataset.split == 'val200'
    dataset_cfg = cfg.test_dataloader.dataset
    assert dataset_cfg.task == 'cifar' and dataset_cfg.split == 'test'
    dataset_cfg.data_root = str(root)
    dataset = DATASETS.build(dataset_cfg)
    item = dataset[1]
    assert tuple(item['inputs'].shape) == (3, 224, 224)
    assert item['data_samples'].gt_label.item() == 1


def test_derived_config_picks_task(tmp_path):
    derived = tmp_path / 'dtd.py'
    derived.write_text(
        f'_base_ = [{str(CONFIG)!r}]\n'
        "task, num_classes = 'dtd', 47\n"
        'train_dataloader = dict(dataset=dict(task=task))\n'
        'val_dataloader = dict(dataset=dict(task=task))\n'
        'test_dataloader = dict(dataset=dict(task=task))\n'
        'data_preprocessor = dict(num_classes=num_classes)\n')
    cfg = Config.fromfile(str(derived))
    for loader, split in (('train', 'train800val200'), ('val', 'val200'),
                          ('test', 'test')):
        dataset = cfg[f'{loader}_dataloader'].dataset
        assert (dataset.task, dataset.split) == ('dtd', split)
        assert dataset.data_root == 'data/vtab-1k'
    assert cfg.data_preprocessor.num_classes == 47
