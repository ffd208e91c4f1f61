"""Writers of small point-cloud files in the benchmarks' real formats, and
a builder of a base config's datasets pointed at them."""
import pickle
from pathlib import Path

import h5py
import numpy as np
from mmengine import DefaultScope
from mmengine.config import Config

import adapterx.datasets  # noqa: F401 (registers datasets and transforms)
from adapterx.registry import DATASETS

DATASET_CONFIGS = Path(__file__).resolve().parents[2] / 'configs' / \
    '_base_' / 'datasets'


def random_clouds(rng, count, num_points, channels=3):
    return rng.normal(size=(count, num_points, channels)).astype(np.float32)


def write_h5(path, data=None, label=None, **other_keys):
    """An HDF5 file holding the given arrays under ``data``, ``label`` and
    ``other_keys`` (a key given as None is left out)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, 'w') as h5_file:
        for key, value in dict(data=data, label=label, **other_keys).items():
            if value is not None:
                h5_file.create_dataset(key, data=value)
    return path


def write_pickle(path, content, protocol=pickle.DEFAULT_PROTOCOL):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(content, protocol=protocol))
    return path


def point_bert_cache(clouds, labels):
    """The content of a Point-BERT ``.dat`` cache: ``[list of (P, 6)
    float32 arrays, list of int32 arrays of shape (1,)]``."""
    return [[np.asarray(cloud, np.float32) for cloud in clouds],
            [np.array([label], dtype=np.int32) for label in labels]]


def build_config_dataset(config_file, loader, data_root=None,
                         pipeline_key=None):
    """The dataset of ``<loader>_dataloader`` in a base config, built under
    adapterx's scope, with ``data_root`` if given (and the config's
    ``pipeline_key`` pipeline instead of the loader's, if given)."""
    cfg = Config.fromfile(str(DATASET_CONFIGS / config_file))
    dataset_cfg = cfg[f'{loader}_dataloader'].dataset
    if data_root is not None:
        dataset_cfg.data_root = str(data_root)
    # mmengine's serialisation runs gc.collect(), 0.4 s a dataset.
    dataset_cfg.serialize_data = False
    if pipeline_key is not None:
        dataset_cfg.pipeline = cfg[pipeline_key]
    with DefaultScope.overwrite_default_scope('adapterx'):
        return DATASETS.build(dataset_cfg), cfg


def assert_distinct_views(packed, num_views, num_points, label):
    """A ``TestTimeAug`` output: ``num_views`` packed views of one cloud,
    pairwise different, with its label."""
    views, samples = packed['inputs'], packed['data_samples']
    assert len(views) == len(samples) == num_views
    for view, sample in zip(views, samples):
        assert view.shape == (num_points, 3)
        assert int(sample.gt_label) == label
    for first in range(num_views):
        for second in range(first + 1, num_views):
            assert not np.allclose(views[first].numpy(),
                                   views[second].numpy())
