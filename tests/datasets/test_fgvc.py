import json
from pathlib import Path

import pytest
from mmengine.config import Config

import adapterx.datasets  # noqa: F401 (registers the datasets)
from adapterx.datasets import (FGVC, FGVC_DATASETS, CUB200, NABirds555,
                               OxfordFlowers102, StanfordCars196,
                               StanfordDogs120)
from adapterx.registry import DATASETS

CONFIG = Path(__file__).resolve().parents[2] / 'configs' / '_base_' / \
    'datasets' / 'fgvc.py'


class TinyBirds(FGVC):
    """Three classes, so that a test can list every class with images."""
    FOLDER = 'birds'
    IMAGE_DIR = 'images'
    NUM_CLASSES = 3


def build(dataset_class, **kwargs):
    # mmengine's serialisation of the sample list runs gc.collect(), about
    # 0.4 s with torch imported; the end-to-end test keeps it.
    return dataset_class(serialize_data=False, **kwargs)


@pytest.fixture
def make_dataset(tmp_path, write_image):
    """Write ``<tmp>/fgvc/<FOLDER>/<split>.json`` for each split given as
    ``{image path: class id}``, and the images of the splits in
    ``with_images``; return the data root."""
    root = tmp_path / 'fgvc'

    def make(dataset_class, splits, with_images=('train', 'val', 'test'),
             size=(8, 8)):
        folder = root / dataset_class.FOLDER
        folder.mkdir(parents=True, exist_ok=True)
        for split, labels in splits.items():
            (folder / f'{split}.json').write_text(json.dumps(labels))
            if split in with_images:
                for path in labels:
                    write_image(folder / dataset_class.IMAGE_DIR / path, size)
        return root

    return make


def every_class_once(dataset_class):
    """Train labels holding all of a dataset's classes (ids 1..C, as in
    CUB), one image in val and test."""
    return dict(
        train={
            f'c{i}/train_{i}.jpg': i
            for i in range(1, dataset_class.NUM_CLASSES + 1)
        },
        val={'c3/val_0.jpg': 3},
        test={'c7/test_0.jpg': 7})


# The remapping: ids {5, 9, 2} -> 2: 0, 5: 1, 9: 2 in every split. VPT maps
# each split's own ids, which would give val's only class (9) label 0.
REMAP_SPLITS = dict(
    train={'a/0.jpg': 5, 'b/1.jpg': 9, 'c/2.jpg': 2, 'a/3.jpg': 5},
    val={'b/4.jpg': 9},
    test={'c/5.jpg': 2, 'a/6.jpg': 5})


@pytest.mark.parametrize('split,labels', [('train', [1, 2, 0, 1]),
                                          ('val', [2]), ('test', [0, 1])])
def test_remaps_class_ids_consistently(make_dataset, split, labels):
    root = make_dataset(TinyBirds, REMAP_SPLITS)
    dataset = build(TinyBirds, data_root=str(root), split=split)
    assert len(dataset) == len(labels)
    assert [dataset.get_data_info(i)['gt_label']
            for i in range(len(dataset))] == labels
    assert dataset.metainfo['class_ids'] == (2, 5, 9)
    assert dataset.metainfo['classes'] == ('class_0', 'class_1', 'class_2')
    for index, path in enumerate(REMAP_SPLITS[split]):
        img_path = dataset.get_data_info(index)['img_path']
        assert img_path == str(root / 'birds' / 'images' / path)


@pytest.mark.parametrize(
    'dataset_class,folder,image_dir',
    [(CUB200, 'CUB_200_2011', 'images'), (NABirds555, 'nabirds', 'images'),
     (OxfordFlowers102, 'OxfordFlower', ''),
     (StanfordDogs120, 'Stanford-dogs', 'Images'),
     (StanfordCars196, 'Stanford-cars', '')])
def test_layouts_and_class_counts(make_dataset, dataset_class, folder,
                                  image_dir):
    root = make_dataset(
        dataset_class, every_class_once(dataset_class), with_images=['val'])
    dataset = build(dataset_class, data_root=str(root), split='val')
    sample = dataset.get_data_info(0)
    assert sample['img_path'] == str(root / folder / image_dir /
                                     'c3' / 'val_0.jpg')
    assert sample['gt_label'] == 2  # id 3 of ids 1..C
    assert len(dataset.metainfo['classes']) == dataset_class.NUM_CLASSES
    assert DATASETS.get(dataset_class.__name__) is dataset_class


def test_table():
    assert [(d.__name__, d.NUM_CLASSES) for d in FGVC_DATASETS] == [
        ('CUB200', 200), ('NABirds555', 555), ('OxfordFlowers102', 102),
        ('StanfordDogs120', 120), ('StanfordCars196', 196)
    ]


def test_does_not_shadow_mmpretrain_stanford_cars():
    from mmpretrain.datasets import StanfordCars
    assert DATASETS.get('StanfordCars') is StanfordCars


def test_class_count_mismatch(make_dataset):
    root = make_dataset(CUB200, REMAP_SPLITS)
    with pytest.raises(ValueError) as error:
        build(CUB200, data_root=str(root), split='train')
    assert 'CUB200 has 200 classes, but the class ids of ' \
        f"{root / 'CUB_200_2011'}/{{train,val,test}}.json take 3 values" \
        in str(error.value)


def test_unknown_split(tmp_path):
    with pytest.raises(ValueError,
                       match="split 'trian' \\(close matches: train\\)"):
        build(CUB200, data_root=str(tmp_path), split='trian')


def test_missing_data_root(tmp_path):
    root = tmp_path / 'nowhere'
    with pytest.raises(FileNotFoundError) as error:
        build(StanfordDogs120, data_root=str(root), split='train')
    message = str(error.value)
    assert f'FGVC data root {root} does not exist' in message
    assert f"{root / 'Stanford-dogs'} to hold train.json, val.json and " \
        'test.json' in message
    assert f"relative to {root / 'Stanford-dogs' / 'Images'}" in message


def test_missing_dataset_folder(tmp_path):
    with pytest.raises(FileNotFoundError,
                       match='NABirds555 folder .*nabirds does not exist'):
        build(NABirds555, data_root=str(tmp_path), split='train')


def test_missing_split_file(make_dataset):
    splits = dict(REMAP_SPLITS)
    del splits['test']
    root = make_dataset(TinyBirds, splits)
    # Even the train split needs test.json: the class ids of all three
    # splits decide the labels.
    with pytest.raises(FileNotFoundError) as error:
        build(TinyBirds, data_root=str(root), split='train')
    assert f"TinyBirds test split file {root / 'birds' / 'test.json'} " \
        'does not exist' in str(error.value)


@pytest.mark.parametrize('content,problem', [
    ('[["a/0.jpg", 5]]', 'holds a list'),
    ('{"a/0.jpg": "5"}', "the class id of 'a/0.jpg' is '5'"),
    ('{"a/0.jpg": 5.0}', "the class id of 'a/0.jpg' is 5.0"),
    ('{"a/0.jpg": true}', "the class id of 'a/0.jpg' is True"),
    ('{"a/0.jpg": 5,}', 'is not valid JSON'),
])
def test_bad_json(make_dataset, content, problem):
    root = make_dataset(TinyBirds, REMAP_SPLITS)
    val_json = root / 'birds' / 'val.json'
    val_json.write_text(content)
    with pytest.raises(ValueError) as error:
        build(TinyBirds, data_root=str(root), split='train')
    message = str(error.value)
    assert str(val_json) in message and problem in message
    assert 'expected a dict {"<image path>": <integer class id>}' in message


def test_image_listed_twice_with_two_labels(make_dataset):
    root = make_dataset(TinyBirds, REMAP_SPLITS)
    train_json = root / 'birds' / 'train.json'
    # json.dumps cannot write a key twice; VPT-style files are hand-merged.
    train_json.write_text('{"a/0.jpg": 5, "b/1.jpg": 9, "c/2.jpg": 2, '
                          '"a/0.jpg": 9}')
    with pytest.raises(ValueError) as error:
        build(TinyBirds, data_root=str(root), split='test')
    assert str(error.value) == (
        f"{train_json} lists 'a/0.jpg' twice, with the class ids 5 and 9; "
        'keep the one that is right.')


def test_image_listed_twice_with_one_label_is_kept_once(make_dataset):
    root = make_dataset(TinyBirds, REMAP_SPLITS)
    (root / 'birds' / 'train.json').write_text(
        '{"a/0.jpg": 5, "b/1.jpg": 9, "c/2.jpg": 2, "a/0.jpg": 5}')
    dataset = build(TinyBirds, data_root=str(root), split='train')
    assert [sample['gt_label'] for sample in dataset.data_list] == [1, 2, 0]


def test_missing_images_are_named(make_dataset):
    root = make_dataset(TinyBirds, REMAP_SPLITS)
    (root / 'birds' / 'images' / 'c' / '5.jpg').unlink()
    with pytest.raises(FileNotFoundError) as error:
        build(TinyBirds, data_root=str(root), split='test')
    assert f"1 of the 2 images listed in {root / 'birds' / 'test.json'} " \
        f"do not exist: {root / 'birds' / 'images' / 'c' / '5.jpg'}" \
        == str(error.value)


def test_unreadable_image_is_named(make_dataset):
    root = make_dataset(TinyBirds, REMAP_SPLITS)
    broken = root / 'birds' / 'images' / 'c' / '5.jpg'
    broken.write_bytes(b'\x89PNG not really')
    with pytest.raises(ValueError) as error:
        build(TinyBirds, data_root=str(root), split='test')
    assert str(error.value).startswith(
        f"1 of the 2 images listed in {root / 'birds' / 'test.json'} "
        f'cannot be read: {broken} (')
    assert len(build(TinyBirds, data_root=str(root), split='test',
                     image_check='exists')) == 2


def test_empty_split(make_dataset):
    root = make_dataset(TinyBirds, dict(REMAP_SPLITS, val={}))
    with pytest.raises(ValueError, match='val.json lists no images'):
        build(TinyBirds, data_root=str(root), split='val')


@pytest.mark.parametrize('loader', ['train', 'test'])
def test_base_config_end_to_end(make_dataset, loader):
    root = make_dataset(
        CUB200, every_class_once(CUB200), with_images=['val'],
        size=(300, 260))
    cfg = Config.fromfile(str(CONFIG))
    dataset_cfg = cfg[f'{loader}_dataloader'].dataset
    assert dataset_cfg.type == 'CUB200'
    # Both pipelines, on the one split that has images.
    dataset_cfg.update(data_root=str(root), split='val')
    dataset = DATASETS.build(dataset_cfg)
    item = dataset[0]
    assert tuple(item['inputs'].shape) == (3, 224, 224)
    assert item['data_samples'].gt_label.item() == 2
