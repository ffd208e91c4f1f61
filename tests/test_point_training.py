"""Point clouds end to end: Adapter-X trains on the generated shapes
through tools/train.py, and a Point-MAE ScanObjectNN config trains on small
h5 files in the real layout and tests with Point-MAE's voting (--tta)."""
import json
import sys

import numpy as np
import pytest

from .datasets.point_cloud_writers import random_clouds, write_h5
from .utils import REPO_ROOT, run_tool, train

pytestmark = pytest.mark.slow  # every test here starts training

LOADER_OPTIONS = [
    f'{split}_dataloader.{key}'
    for split in ('train', 'val', 'test')
    for key in ('num_workers=0', 'persistent_workers=False')
]


def test_adapterx_trains_on_generated_point_clouds(tmp_path):
    output = train(
        REPO_ROOT / 'configs' / 'demo' /
        'adapterx_point-demo_1xb16-10e_synthetic-points8.py', tmp_path,
        'train_dataloader.dataset.num_samples=64',
        'val_dataloader.dataset.num_samples=32',
        'test_dataloader.dataset.num_samples=32', 'train_cfg.max_epochs=1',
        'train_cfg.val_interval=1')
    assert 'accuracy/top1' in output
    # The pretrained demo backbone was loaded and stayed frozen.
    assert 'point_demo_shapes.pth' in output
    assert 'frozen parameter tensors changed' in output
    report = json.loads((tmp_path / 'trainable_parameters.json').read_text())
    assert 0 < report['trainable_without_head'] < 0.02 * report['backbone']
    assert (tmp_path / 'epoch_1.pth').is_file()


def write_pb_t50_rs(root, rng):
    """main_split/ files of PB_T50_RS, 8 training and 4 test clouds."""
    folder = root / 'main_split'
    for split, count in (('training', 8), ('test', 4)):
        write_h5(
            folder / f'{split}_objectdataset_augmentedrot_scale75.h5',
            data=random_clouds(rng, count, 2048),
            label=np.arange(count) % 15)


def test_point_mae_config_trains_and_tests_with_voting(tmp_path):
    write_pb_t50_rs(tmp_path / 'h5_files', np.random.default_rng(0))
    config = (REPO_ROOT / 'configs' / 'full_finetune' /
              'full-finetune_point-mae_8xb4-300e_scanobjectnn-pb-t50-rs.py')
    data_options = [
        f'{split}_dataloader.dataset.data_root={tmp_path / "h5_files"}'
        for split in ('train', 'val', 'test')
    ]
    work_dir = tmp_path / 'work'
    train(config, work_dir, 'model.backbone.init_cfg=None',
          'train_cfg.max_epochs=1', *LOADER_OPTIONS, *data_options)
    metrics_file = tmp_path / 'voting.json'
    output = run_tool(sys.executable, REPO_ROOT / 'tools' / 'test.py', config,
                      work_dir / 'epoch_1.pth', '--tta', '--dump-metrics',
                      metrics_file, '--work-dir', work_dir, '--cfg-options',
                      'model.backbone.init_cfg=None', *LOADER_OPTIONS,
                      *data_options)
    assert 'AverageClsScoreTTA' in output
    assert 0 <= json.loads(metrics_file.read_text())['accuracy/top1'] <= 100
