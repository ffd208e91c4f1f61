"""One short training run per method on the tiny data (2D: the test ViT
on generated images; IDPT and DAPT: the demo point transformer on
generated clouds), on the mmengine Runner with the method's PEFT base:
the frozen weights stay as loaded, every trainable tensor moves."""
import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook

from adapterx.utils import register_all_modules
from adapterx.utils.tool_args import build_runner
from ..utils import REPO_ROOT

pytestmark = pytest.mark.slow  # every test here starts training

CONFIGS = REPO_ROOT / 'configs'
POINT_METHODS = ('idpt', 'dapt')


class WeightsBeforeAndAfter(Hook):
    """The model's parameters when training starts (after loading and
    freezing) and when it ends."""
    priority = 'LOWEST'

    def before_train(self, runner):
        self.before = {name: (p.detach().clone(), p.requires_grad)
                       for name, p in runner.model.named_parameters()}

    def after_train(self, runner):
        self.after = {name: p.detach().clone()
                      for name, p in runner.model.named_parameters()}


def tiny_config(method, directory):
    peft_base = CONFIGS / '_base_' / 'peft' / f'{method}.py'
    if method in POINT_METHODS:
        bases = [CONFIGS / '_base_' / part for part in (
            'models/point_demo.py', 'datasets/synthetic_point_clouds.py',
            'schedules/demo_digits.py')] + [
                peft_base, CONFIGS / '_base_' / 'default_runtime.py']
        model = ('model = dict(peft={{_base_.peft}}, '
                 'head={{_base_.point_head}})')
    else:
        bases = [
            CONFIGS / 'tiny' / 'full-finetune_vit-tiny_1xb8-2e_tiny-images.py',
            peft_base
        ]
        model = 'model = dict(peft={{_base_.peft}})'
    path = directory / f'tiny_{method}.py'
    path.write_text(f'_base_ = {[str(base) for base in bases]}\n{model}\n')
    return path


@pytest.mark.parametrize('method', ['vpt_shallow', 'vpt_deep', 'adaptformer',
                                    'convpass', 'idpt', 'dapt'])
def test_short_training_moves_exactly_the_trainable_weights(
        method, tmp_path, tiny_image_root, monkeypatch):
    # The runner logs and dumps its config through yapf, seconds per run
    # on a shared CPU; the plain text serves these runs.
    monkeypatch.setattr(Config, 'pretty_text',
                        property(lambda cfg: str(cfg.to_dict())))
    register_all_modules(init_default_scope=False)
    cfg = Config.fromfile(str(tiny_config(method, tmp_path)))
    options = {'train_cfg.max_epochs': 1, 'train_cfg.val_interval': 1}
    for split in ('train', 'val', 'test'):
        if method in POINT_METHODS:
            # Small clouds in few groups: seconds on a CPU.
            options[f'{split}_dataloader.dataset.num_samples'] = \
                32 if split == 'train' else 16
            options[f'{split}_dataloader.dataset.num_points'] = 128
            options.update({'model.backbone.num_groups': 16,
                            'model.backbone.group_size': 8})
        else:
            options[f'{split}_dataloader.dataset.data_root'] = str(
                tiny_image_root)
    cfg.merge_from_dict(options)
    cfg.work_dir = str(tmp_path / 'work')
    runner = build_runner(cfg)
    record = WeightsBeforeAndAfter()
    runner.register_hook(record)
    runner.train()
    trainable = {name for name, (_, grad) in record.before.items() if grad}
    assert trainable and any(not name.startswith('head.')
                             for name in trainable)
    for name, (before, requires_grad) in record.before.items():
        moved = not torch.equal(before, record.after[name])
        assert moved == requires_grad, name
