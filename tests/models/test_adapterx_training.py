"""Short training runs of Adapter-X and each of its ablations on the tiny
data, through tools/train.py (and two processes with gloo)."""
import json

import pytest

from adapterx.checkpoint import load_runner_checkpoint
from ..utils import (REPO_ROOT, data_root_options, run_tool,
                     tiny_config_with, train)

pytestmark = pytest.mark.slow  # every test here starts training

PEFT_BASES = sorted(
    (REPO_ROOT / 'configs' / '_base_' / 'peft').glob('adapterx*.py'))
TINY_ADAPTERX = (REPO_ROOT / 'configs' / 'tiny' /
                 'adapterx_vit-tiny_1xb8-2e_tiny-images.py')
# The multi-head split into 3 sub-tokens needs a width divisible by 3: the
# tiny ViT 48 wide instead of 32.
WIDTH_48 = ('model.backbone.arch.embed_dims=48', 'model.head.in_channels=48')
OPTIONS = {'adapterx_multihead': WIDTH_48}


@pytest.mark.parametrize('peft_base', PEFT_BASES, ids=lambda p: p.stem)
def test_ablation_trains_on_tiny_data(peft_base, tmp_path, tiny_image_root):
    work_dir = tmp_path / 'run'
    log = train(tiny_config_with(peft_base, tmp_path), work_dir,
                'train_cfg.max_epochs=1', *OPTIONS.get(peft_base.stem, ()),
                data_root=tiny_image_root)
    assert 'loss_balance' in log
    assert 'Verified: none of the' in log
    report = json.loads((work_dir / 'trainable_parameters.json').read_text())
    assert 0 < report['trainable_without_head'] < report['backbone']
    first = load_runner_checkpoint(str(work_dir / 'epoch_1.pth'))
    assert any('.adapterx.' in key for key in first['state_dict'])


def test_two_process_adapterx_training(tmp_path, tiny_image_root):
    """Freezing happens before DDP wraps the model: no reduction error,
    identical weights on both ranks."""
    log = run_tool(REPO_ROOT / 'tools' / 'dist_train.sh', TINY_ADAPTERX, 2,
                   '--work-dir', tmp_path / 'dist', '--cfg-options',
                   *data_root_options(tiny_image_root))
    assert 'All 2 ranks hold identical weights' in log
    assert 'Verified: none of the' in log
