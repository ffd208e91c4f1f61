import h5py
import numpy as np
import pytest

from adapterx.datasets import (SCANOBJECTNN_CLASSES, SCANOBJECTNN_VARIANTS,
                               ScanObjectNN)
from .point_cloud_writers import (assert_distinct_views, build_config_dataset,
                                  random_clouds, write_h5)

# The release's file of each variant and split, relative to h5_files/.
RELEASE_FILES = {
    ('pb_t50_rs', 'train'):
    'main_split/training_objectdataset_augmentedrot_scale75.h5',
    ('pb_t50_rs', 'test'):
    'main_split/test_objectdataset_augmentedrot_scale75.h5',
    ('obj_bg', 'train'): 'main_split/training_objectdataset.h5',
    ('obj_bg', 'test'): 'main_split/test_objectdataset.h5',
    ('obj_only', 'train'): 'main_split_nobg/training_objectdataset.h5',
    ('obj_only', 'test'): 'main_split_nobg/test_objectdataset.h5',
}
NUM_POINTS = 2048


def scanobjectnn(**kwargs):
    return ScanObjectNN(serialize_data=False, **kwargs)


@pytest.fixture
def h5_files(tmp_path):
    """All six files of the release, a few clouds each, every file with its
    own clouds and labels; returns the root and the arrays written."""
    rng = np.random.default_rng(0)
    root = tmp_path / 'h5_files'
    written = {}
    for index, (key, relative) in enumerate(sorted(RELEASE_FILES.items())):
        count = 2 + index % 3
        points = random_clouds(rng, count, NUM_POINTS)
        labels = rng.integers(0, 15, count)
        labels[0] = 14
        # The release stores labels as (N,) in some files, (N, 1) in others.
        stored = labels[:, None] if index % 2 else labels
        write_h5(root / relative, points, stored.astype(np.int64),
                 mask=np.zeros((count, NUM_POINTS), np.int8))
        written[key] = (points, labels)
    return root, written


def test_variant_table_names_the_release_files():
    assert set(SCANOBJECTNN_VARIANTS) == {'pb_t50_rs', 'obj_bg', 'obj_only'}
    assert len(SCANOBJECTNN_CLASSES) == 15
    assert SCANOBJECTNN_CLASSES[0] == 'bag'
    assert SCANOBJECTNN_CLASSES[14] == 'toilet'


@pytest.mark.parametrize('variant, split', sorted(RELEASE_FILES))
def test_reads_every_variant_and_split(h5_files, variant, split):
    root, written = h5_files
    points, labels = written[(variant, split)]
    dataset = scanobjectnn(data_root=str(root), variant=variant, split=split)
    assert len(dataset) == len(points)
    assert dataset.metainfo['classes'] == SCANOBJECTNN_CLASSES
    for index in range(len(points)):
        sample = dataset.get_data_info(index)
        assert sample['points'].dtype == np.float32
        assert sample['points'].shape == (NUM_POINTS, 3)
        np.testing.assert_array_equal(sample['points'], points[index])
        assert sample['gt_label'] == labels[index]
        assert type(sample['gt_label']) is int


def test_variant_name_in_any_case(h5_files):
    root, written = h5_files
    dataset = scanobjectnn(data_root=str(root), variant='OBJ_ONLY',
                           split='test')
    assert dataset.variant == 'obj_only'
    assert len(dataset) == len(written[('obj_only', 'test')][0])


def test_unknown_variant_and_split():
    with pytest.raises(ValueError, match="'obj_bgg'.*close matches: obj_bg"):
        scanobjectnn(data_root='x', variant='obj_bgg')
    with pytest.raises(ValueError, match="'val'.*train, test"):
        scanobjectnn(data_root='x', split='val')


def test_missing_file_names_the_path_and_the_variants_files(tmp_path):
    root = tmp_path / 'h5_files'
    write_h5(root / RELEASE_FILES[('obj_bg', 'train')],
             np.zeros((1, 4, 3), np.float32), np.zeros(1, np.int64))
    with pytest.raises(FileNotFoundError) as error:
        scanobjectnn(data_root=str(root), variant='pb_t50_rs')
    message = str(error.value)
    assert str(root / RELEASE_FILES[('pb_t50_rs', 'train')]) in message
    assert RELEASE_FILES[('pb_t50_rs', 'test')] in message
    assert 'main_split_nobg' in message


def test_missing_data_root(tmp_path):
    with pytest.raises(FileNotFoundError,
                       match=f'data root {tmp_path / "absent"} does not'):
        scanobjectnn(data_root=str(tmp_path / 'absent'))


def write_variant_file(root, **arrays):
    return write_h5(root / RELEASE_FILES[('obj_only', 'train')], **arrays)


def load_obj_only(root):
    return scanobjectnn(data_root=str(root), variant='obj_only')


GOOD_DATA = np.zeros((2, 8, 3), np.float32)
GOOD_LABEL = np.array([1, 2])


@pytest.mark.parametrize('arrays, expected', [
    (dict(data=None, label=GOOD_LABEL, points=GOOD_DATA),
     r"no array under the key 'data' \(its keys: label, points\)"),
    (dict(data=GOOD_DATA, label=None),
     r"no array under the key 'label' \(its keys: data\)"),
    (dict(data=np.zeros((2, 8), np.float32), label=GOOD_LABEL),
     r"key 'data' has shape \(2, 8\); expected the keys"),
    (dict(data=np.zeros((2, 8, 4), np.float32), label=GOOD_LABEL),
     r"key 'data' has shape \(2, 8, 4\)"),
    (dict(data=np.zeros((2, 8, 3), np.int32), label=GOOD_LABEL),
     r"key 'data' holds int32 values; expected float"),
    (dict(data=GOOD_DATA, label=np.array([1, 2, 3])),
     r"key 'label' has shape \(3,\), but 'data' holds 2 clouds"),
    (dict(data=GOOD_DATA, label=np.zeros((2, 2), np.int64)),
     r"key 'label' has shape \(2, 2\)"),
    (dict(data=GOOD_DATA, label=np.array([3, 15])),
     r"key 'label' holds the label 15 at index 1, outside \[0, 15\)"),
    (dict(data=GOOD_DATA, label=np.array([[-1], [0]])),
     r"key 'label' holds the label -1 at index 0"),
    (dict(data=GOOD_DATA, label=np.array([1.0, 2.0])),
     r"key 'label' holds float64 values; expected integer"),
])
def test_malformed_files_are_named_with_key_and_value(tmp_path, arrays,
                                                      expected):
    path = write_variant_file(tmp_path, **arrays)
    with pytest.raises(ValueError, match=expected) as error:
        load_obj_only(tmp_path)
    assert str(error.value).startswith(str(path))


def test_non_finite_points_are_refused(tmp_path):
    data = GOOD_DATA.copy()
    data[1, 3, 2] = np.nan
    path = write_variant_file(tmp_path, data=data, label=GOOD_LABEL)
    with pytest.raises(ValueError, match=r"'data' holds a NaN .*point 11"):
        load_obj_only(tmp_path)
    assert path.exists()


def test_a_file_that_is_not_hdf5(tmp_path):
    path = tmp_path / RELEASE_FILES[('obj_only', 'train')]
    path.parent.mkdir(parents=True)
    path.write_text('not hdf5')
    with pytest.raises(ValueError, match='is not a readable HDF5 file'):
        load_obj_only(tmp_path)


@pytest.mark.parametrize('config, variant, rotation', [
    ('scanobjectnn_pb_t50_rs.py', 'pb_t50_rs', False),
    ('scanobjectnn_obj_bg.py', 'obj_bg', False),
    ('scanobjectnn_obj_only.py', 'obj_only', False),
    ('scanobjectnn_pb_t50_rs_rotation.py', 'pb_t50_rs', True),
    ('scanobjectnn_obj_bg_rotation.py', 'obj_bg', True),
    ('scanobjectnn_obj_only_rotation.py', 'obj_only', True),
])
def test_base_configs_build_and_run(h5_files, config, variant, rotation):
    root, written = h5_files
    train, cfg = build_config_dataset(config, 'train', root)
    assert (train.variant, train.split) == (variant, 'train')
    assert cfg.train_dataloader.batch_size == 32
    assert cfg.data_preprocessor == dict(type='PointDataPreprocessor')
    assert cfg.val_evaluator == dict(type='Accuracy', topk=(1, ))
    transforms = [type(t).__name__ for t in train.pipeline.transforms]
    assert ('RandomRotatePoints' in transforms) == rotation
    assert ('RandomScaleTranslate' in transforms) != rotation
    np.random.seed(0)
    packed = train[0]
    assert packed['inputs'].shape == (NUM_POINTS, 3)
    # Augmented: the same points are not in the same places.
    points, labels = written[(variant, 'train')]
    assert not np.allclose(packed['inputs'].numpy(), points[0])
    assert int(packed['data_samples'].gt_label) == labels[0]
    for loader in ('val', 'test'):
        dataset, _ = build_config_dataset(config, loader, root)
        assert (dataset.variant, dataset.split) == (variant, 'test')
        np.testing.assert_array_equal(dataset[0]['inputs'].numpy(),
                                      written[(variant, 'test')][0][0])


def test_voting_pipeline_gives_ten_views(h5_files):
    root, written = h5_files
    dataset, cfg = build_config_dataset('scanobjectnn_obj_bg.py', 'test',
                                        root, pipeline_key='tta_pipeline')
    assert cfg.tta_model == dict(type='AverageClsScoreTTA')
    np.random.seed(0)
    points, labels = written[('obj_bg', 'test')]
    assert_distinct_views(dataset[1], 10, NUM_POINTS, labels[1])


def test_a_damaged_h5_array_is_named(tmp_path):
    """A file whose header is intact opens; its damaged compressed chunk
    fails only when read, and the error names the file and the key."""
    path = tmp_path / RELEASE_FILES[('obj_only', 'train')]
    path.parent.mkdir(parents=True)
    with h5py.File(path, 'w') as h5_file:
        h5_file.create_dataset('data', data=np.ones((4, 8, 3), np.float32),
                               compression='gzip', chunks=(2, 8, 3))
        h5_file.create_dataset('label', data=np.arange(4))
        chunk = h5_file['data'].id.get_chunk_info(0)
    content = bytearray(path.read_bytes())
    content[chunk.byte_offset:chunk.byte_offset + chunk.size] = \
        bytes(chunk.size)
    path.write_bytes(bytes(content))
    with pytest.raises(ValueError) as error:
        load_obj_only(tmp_path)
    assert str(error.value).startswith(
        f"{path}: the array under the key 'data' cannot be read (")
