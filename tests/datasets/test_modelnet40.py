import os
import pickle

import numpy as np
import pytest
import torch
from mmengine import DefaultScope
from mmengine.dataset import pseudo_collate
from mmengine.model import BaseModel

from adapterx.datasets import (MODELNET40_CLASSES, ModelNet40, ModelNet40H5,
                               PackPointInputs)
from adapterx.datasets.point_cloud_files import ForbiddenGlobalError
from adapterx.models.classifiers.point_classifier import \
    PointDataPreprocessor
from adapterx.registry import MODELS
from .point_cloud_writers import (assert_distinct_views, build_config_dataset,
                                  point_bert_cache, random_clouds, write_h5,
                                  write_pickle)

NUM_POINTS = 16
LABELS = [0, 23, 39]  # airplane, night_stand, xbox


def modelnet40(root, **kwargs):
    kwargs.setdefault('num_points', NUM_POINTS)
    return ModelNet40(data_root=str(root), serialize_data=False, **kwargs)


def modelnet40_h5(root, **kwargs):
    return ModelNet40H5(data_root=str(root), serialize_data=False, **kwargs)


def cache_path(root, split='train', num_points=NUM_POINTS):
    return root / f'modelnet40_{split}_{num_points}pts_fps.dat'


@pytest.fixture
def clouds():
    return random_clouds(np.random.default_rng(0), len(LABELS), NUM_POINTS,
                         channels=6)


def write_shape_names(root, names=MODELNET40_CLASSES,
                      file_name='modelnet40_shape_names.txt'):
    root.mkdir(parents=True, exist_ok=True)
    (root / file_name).write_text('\n'.join(names) + '\n')


def write_shape_files(root, clouds, split='train', extra_rows=4):
    """The text layout: names, the split's list and one file per shape with
    ``extra_rows`` more lines than ``NUM_POINTS``."""
    write_shape_names(root)
    shape_ids = []
    for number, (cloud, label) in enumerate(zip(clouds, LABELS), 1):
        class_name = MODELNET40_CLASSES[label]
        shape_id = f'{class_name}_{number:04d}'
        shape_ids.append(shape_id)
        padding = np.full((extra_rows, cloud.shape[1]), 9.0)
        rows = np.concatenate([cloud, padding])
        (root / class_name).mkdir(exist_ok=True)
        np.savetxt(root / class_name / f'{shape_id}.txt', rows,
                   delimiter=',', fmt='%.6f')
    (root / f'modelnet40_{split}.txt').write_text('\n'.join(shape_ids) +
                                                  '\n')
    return shape_ids


def assert_samples(dataset, clouds, channels=3, atol=0.0):
    assert len(dataset) == len(clouds)
    for index, (cloud, label) in enumerate(zip(clouds, LABELS)):
        sample = dataset.get_data_info(index)
        assert sample['points'].dtype == np.float32
        assert sample['points'].shape == (NUM_POINTS, channels)
        np.testing.assert_allclose(sample['points'], cloud[:, :channels],
                                   atol=atol)
        assert sample['gt_label'] == label


class Exploit:
    """Unpickles to ``os.system(command)``."""

    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return os.system, (self.command, )


# ----------------------------------------------------------- the .dat cache


@pytest.mark.parametrize('protocol', [2, 4, 5])
@pytest.mark.parametrize('split', ['train', 'test'])
def test_reads_point_berts_cache(tmp_path, clouds, protocol, split):
    write_pickle(cache_path(tmp_path, split),
                 point_bert_cache(clouds, LABELS), protocol)
    dataset = modelnet40(tmp_path, split=split)
    assert_samples(dataset, clouds)
    assert dataset.metainfo['classes'] == MODELNET40_CLASSES


def test_cache_with_normals(tmp_path, clouds):
    write_pickle(cache_path(tmp_path), point_bert_cache(clouds, LABELS))
    assert_samples(modelnet40(tmp_path, use_normals=True), clouds, 6)


def test_cache_of_the_requested_size_only(tmp_path, clouds):
    write_pickle(cache_path(tmp_path, num_points=8192),
                 point_bert_cache(clouds, LABELS))
    # No 16-point cache and no text layout: the names file is asked for.
    with pytest.raises(FileNotFoundError,
                       match='modelnet40_shape_names.txt does not exist'):
        modelnet40(tmp_path)


def test_class_names_from_the_names_file(tmp_path, clouds):
    write_pickle(cache_path(tmp_path), point_bert_cache(clouds, LABELS))
    names = tuple(f'shape_{index}' for index in range(40))
    write_shape_names(tmp_path, names)
    assert modelnet40(tmp_path).metainfo['classes'] == names
    mine = tuple(f'mine_{index}' for index in range(40))
    assert modelnet40(tmp_path, classes=mine).metainfo['classes'] == mine


def test_names_file_must_hold_40_distinct_names(tmp_path, clouds):
    write_pickle(cache_path(tmp_path), point_bert_cache(clouds, LABELS))
    write_shape_names(tmp_path, MODELNET40_CLASSES[:39] + ('airplane', ))
    with pytest.raises(ValueError, match=r'lists 40 names \(39 distinct\)'):
        modelnet40(tmp_path)


def test_cache_naming_a_forbidden_global_is_refused(tmp_path):
    marker = tmp_path / 'exploited'
    path = write_pickle(cache_path(tmp_path),
                        [[Exploit(f'touch {marker}')], [np.array([0])]])
    with pytest.raises(ForbiddenGlobalError) as error:
        modelnet40(tmp_path)
    message = str(error.value)
    assert str(path) in message
    assert f'{os.system.__module__}.system' in message
    assert not marker.exists()


@pytest.mark.parametrize('content', [
    [[eval], [np.array([0])]],
    [[np.zeros((NUM_POINTS, 6), object)], [np.array([0])]],
])
def test_only_numeric_numpy_content_loads(tmp_path, content):
    write_pickle(cache_path(tmp_path), content)
    with pytest.raises((ForbiddenGlobalError, ValueError),
                       match=str(cache_path(tmp_path))):
        modelnet40(tmp_path)


def test_truncated_cache(tmp_path, clouds):
    data = pickle.dumps(point_bert_cache(clouds, LABELS))
    cache_path(tmp_path).write_bytes(data[:len(data) // 2])
    with pytest.raises(ValueError, match='is not a valid pickle'):
        modelnet40(tmp_path)


@pytest.mark.parametrize('edit, expected', [
    (lambda content: {'points': content[0]}, 'holds a dict'),
    (lambda content: [content[0], content[1][:2]],
     'holds 3 clouds but 2 labels'),
    (lambda content: [[c[:5] for c in content[0]], content[1]],
     r'cloud 0 has shape \(5, 6\)'),
    (lambda content: [[c[:, :2] for c in content[0]], content[1]],
     r'cloud 0 has shape \(16, 2\)'),
    (lambda content: [content[0], content[1][:2] + [np.array([40])]],
     r'the labels holds the label 40 at index 2, outside \[0, 40\)'),
    (lambda content: [content[0], content[1][:2] + [np.array([1, 2])]],
     r'label 2 has shape \(2,\)'),
    (lambda content: [content[0], content[1][:2] + ['chair']],
     r'the labels holds <U\d+ values; expected integer'),
])
def test_malformed_cache(tmp_path, clouds, edit, expected):
    path = write_pickle(cache_path(tmp_path),
                        edit(point_bert_cache(clouds, LABELS)))
    with pytest.raises(ValueError, match=expected) as error:
        modelnet40(tmp_path)
    assert str(path) in str(error.value)


def test_cache_with_non_finite_points(tmp_path, clouds):
    clouds = clouds.copy()
    clouds[2, 4, 1] = np.inf
    write_pickle(cache_path(tmp_path), point_bert_cache(clouds, LABELS))
    with pytest.raises(ValueError, match='cloud 2 holds a NaN or infinite'):
        modelnet40(tmp_path)


# ------------------------------------------------------ the text files


@pytest.mark.parametrize('use_normals', [False, True])
def test_text_files_without_a_cache(tmp_path, clouds, use_normals):
    write_shape_files(tmp_path, clouds, split='test')
    dataset = modelnet40(tmp_path, split='test', use_normals=use_normals)
    # The first NUM_POINTS lines, written with 6 decimals.
    assert_samples(dataset, clouds, 6 if use_normals else 3, atol=1e-5)


def test_missing_shape_file_is_named(tmp_path, clouds):
    shape_ids = write_shape_files(tmp_path, clouds)
    missing = tmp_path / 'night_stand' / f'{shape_ids[1]}.txt'
    missing.unlink()
    with pytest.raises(FileNotFoundError,
                       match=f'1 of the 3 shapes .* the first: {missing}'):
        modelnet40(tmp_path)


def test_shape_id_without_a_class(tmp_path, clouds):
    write_shape_files(tmp_path, clouds)
    list_file = tmp_path / 'modelnet40_train.txt'
    list_file.write_text(list_file.read_text() + 'spaceship_0001\n')
    with pytest.raises(ValueError,
                       match=f"{list_file}, line 4: the shape id "
                       "'spaceship_0001'"):
        modelnet40(tmp_path)


def test_malformed_shape_file(tmp_path, clouds):
    shape_ids = write_shape_files(tmp_path, clouds)
    path = tmp_path / 'airplane' / f'{shape_ids[0]}.txt'
    lines = path.read_text().splitlines()
    lines[2] = '0.1,0.2,oops,0,0,1'
    path.write_text('\n'.join(lines) + '\n')
    with pytest.raises(ValueError, match=f'{path}: .*oops.*x,y,z,nx,ny,nz'):
        modelnet40(tmp_path)


def test_short_shape_file(tmp_path, clouds):
    write_shape_files(tmp_path, clouds, extra_rows=0)
    with pytest.raises(ValueError, match='holds 16 points; num_points=20'):
        modelnet40(tmp_path, num_points=20)


def test_normals_asked_of_xyz_files(tmp_path, clouds):
    write_shape_files(tmp_path, clouds[..., :3])
    assert_samples(modelnet40(tmp_path), clouds, atol=1e-5)
    with pytest.raises(ValueError, match='at least 6 values each'):
        modelnet40(tmp_path, use_normals=True)


def test_missing_list_file_and_data_root(tmp_path, clouds):
    write_shape_files(tmp_path, clouds, split='train')
    with pytest.raises(FileNotFoundError,
                       match='test list file .*modelnet40_test.txt does not'):
        modelnet40(tmp_path, split='test')
    with pytest.raises(FileNotFoundError, match='ModelNet40 data root'):
        modelnet40(tmp_path / 'absent')
    with pytest.raises(ValueError, match="split 'val'"):
        modelnet40(tmp_path, split='val')


# ----------------------------------------------------------- the h5 release


def write_h5_release(root, sizes, split='train'):
    """``ply_data_<split><N>.h5`` for N, size in ``sizes``; returns the
    clouds and labels per N."""
    rng = np.random.default_rng(1)
    written = {}
    for number, size in sizes.items():
        points = random_clouds(rng, size, 2048)
        labels = rng.integers(0, 40, (size, 1)).astype(np.uint8)
        write_h5(root / f'ply_data_{split}{number}.h5', points, labels,
                 normal=np.zeros_like(points))
        written[number] = (points, labels[:, 0])
    return written


def assert_h5_order(dataset, written, order):
    points = np.concatenate([written[number][0] for number in order])
    labels = np.concatenate([written[number][1] for number in order])
    assert len(dataset) == len(points)
    for index in range(len(dataset)):
        sample = dataset.get_data_info(index)
        np.testing.assert_array_equal(sample['points'], points[index])
        assert sample['gt_label'] == labels[index]


def test_h5_files_in_numeric_order(tmp_path):
    written = write_h5_release(tmp_path, {10: 2, 2: 1, 0: 3})
    write_h5_release(tmp_path, {0: 2}, split='test')
    dataset = modelnet40_h5(tmp_path, split='train')
    assert_h5_order(dataset, written, [0, 2, 10])
    assert dataset.metainfo['classes'] == MODELNET40_CLASSES


def test_h5_files_listed(tmp_path):
    written = write_h5_release(tmp_path, {0: 2, 1: 1, 2: 1}, split='test')
    (tmp_path / 'test_files.txt').write_text(
        'data/modelnet40_ply_hdf5_2048/ply_data_test1.h5\n'
        'data/modelnet40_ply_hdf5_2048/ply_data_test0.h5\n')
    names = tuple(f'shape_{index}' for index in range(40))
    write_shape_names(tmp_path, names, file_name='shape_names.txt')
    dataset = modelnet40_h5(tmp_path, split='test')
    assert_h5_order(dataset, written, [1, 0])
    assert dataset.metainfo['classes'] == names


def test_h5_errors(tmp_path):
    with pytest.raises(FileNotFoundError,
                       match='holds no ply_data_train<N>.h5 file'):
        modelnet40_h5(tmp_path)
    (tmp_path / 'train_files.txt').write_text('ply_data_train7.h5\n')
    with pytest.raises(FileNotFoundError,
                       match=f'train_files.txt lists ply_data_train7.h5, but '
                       f'{tmp_path / "ply_data_train7.h5"} does not exist'):
        modelnet40_h5(tmp_path)
    path = write_h5(tmp_path / 'ply_data_train7.h5',
                    np.zeros((1, 4, 3), np.float32), np.array([[40]]))
    with pytest.raises(ValueError,
                       match=f"{path}: key 'label' holds the label 40"):
        modelnet40_h5(tmp_path)


# ------------------------------------------------------------ base configs


@pytest.fixture
def cache_8192(tmp_path):
    """Both 8192-point caches of Point-BERT's layout, two shapes each."""
    rng = np.random.default_rng(2)
    written = {}
    for split, labels in (('train', [5, 7]), ('test', [11, 3])):
        points = random_clouds(rng, 2, 8192, channels=6) * 4 + 2
        write_pickle(cache_path(tmp_path, split, 8192),
                     point_bert_cache(points, labels))
        written[split] = labels
    return tmp_path, written


def assert_unit_sphere(points):
    assert np.linalg.norm(points, axis=1).max() <= 1 + 1e-5


def test_modelnet40_config_builds_and_runs(cache_8192):
    root, labels = cache_8192
    train, cfg = build_config_dataset('modelnet40.py', 'train', root)
    assert (train.split, train.num_points, train.use_normals) == \
        ('train', 8192, False)
    assert cfg.train_dataloader.batch_size == 32
    assert cfg.train_dataloader.num_workers == 4
    assert cfg.train_dataloader.persistent_workers
    assert [repr(t) for t in train.pipeline.transforms] == [
        'NormalizePoints()', 'ShufflePoints()',
        "ResamplePoints(num_points=1024, method='fps', oversample=1200)",
        f'RandomScaleTranslate(scale_range={(2 / 3, 3 / 2)}, '
        'translate_range=0.2)', repr(PackPointInputs())]
    np.random.seed(0)
    packed = train[0]
    assert packed['inputs'].shape == (1024, 3)
    assert int(packed['data_samples'].gt_label) == labels['train'][0]
    for loader in ('val', 'test'):
        test, _ = build_config_dataset('modelnet40.py', loader, root)
        assert "ResamplePoints(num_points=1024, method='fps', " \
            'oversample=None)' in repr(test.pipeline)
        packed = test[1]
        assert packed['inputs'].shape == (1024, 3)
        # Normalised, not scaled or translated: on the unit sphere's inside.
        assert_unit_sphere(packed['inputs'].numpy())
        assert int(packed['data_samples'].gt_label) == labels['test'][1]


def test_modelnet40_voting_pipeline(cache_8192):
    root, labels = cache_8192
    dataset, cfg = build_config_dataset('modelnet40.py', 'test', root,
                                        pipeline_key='tta_pipeline')
    assert cfg.tta_model == dict(type='AverageClsScoreTTA')
    np.random.seed(0)
    assert_distinct_views(dataset[0], 10, 1024, labels['test'][0])


def test_modelnet40_h5_config_builds_and_runs(tmp_path):
    written = write_h5_release(tmp_path, {0: 2})
    write_h5_release(tmp_path, {0: 1}, split='test')
    train, cfg = build_config_dataset('modelnet40_h5.py', 'train', tmp_path)
    assert isinstance(train, ModelNet40H5) and train.split == 'train'
    assert cfg.train_dataloader.dataset.keys() == {
        'type', 'data_root', 'split', 'pipeline', 'serialize_data'}
    np.random.seed(0)
    packed = train[1]
    assert packed['inputs'].shape == (1024, 3)
    assert int(packed['data_samples'].gt_label) == written[0][1][1]
    test, _ = build_config_dataset('modelnet40_h5.py', 'test', tmp_path)
    assert test.split == 'test'
    assert test[0]['inputs'].shape == (1024, 3)


class ScoreOfMeanPoint(BaseModel):
    """Class scores from each cloud's mean point: a stand-in classifier
    with the point data preprocessor."""

    def __init__(self):
        super().__init__(data_preprocessor=PointDataPreprocessor())

    @staticmethod
    def scores(points):
        return torch.softmax(points.mean(dim=-2) * 5, dim=-1)

    def forward(self, inputs, data_samples=None, mode='predict'):
        for scores, sample in zip(self.scores(inputs), data_samples):
            sample.set_pred_score(scores)
        return data_samples


def test_tta_model_averages_the_scores_of_the_views(cache_8192):
    root, labels = cache_8192
    dataset, cfg = build_config_dataset('modelnet40.py', 'test', root,
                                        pipeline_key='tta_pipeline')
    np.random.seed(0)
    items = [dataset[0], dataset[1]]
    with DefaultScope.overwrite_default_scope('adapterx'):
        tta_model = MODELS.build(dict(cfg.tta_model,
                                      module=ScoreOfMeanPoint()))
    merged = tta_model.test_step(pseudo_collate(items))
    for item, sample, label in zip(items, merged, labels['test']):
        expected = torch.stack(
            [ScoreOfMeanPoint.scores(view) for view in item['inputs']])
        torch.testing.assert_close(sample.pred_score, expected.mean(dim=0))
        assert int(sample.gt_label) == label
