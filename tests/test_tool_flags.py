"""The flags of tools/train.py and tools/test.py (those of mmpretrain's
tools) reach the config, the trust flag has one name everywhere, and the
shell launchers print their usage when called without arguments."""
import subprocess
import sys

import pytest
from mmengine.config import Config

from adapterx.utils.tool_args import DATALOADERS
from .utils import REPO_ROOT, TINY_CONFIG, load_tool


@pytest.fixture(scope='module')
def train_tool():
    return load_tool('tools/train.py')


@pytest.fixture(scope='module')
def test_tool():
    return load_tool('tools/test.py')


def merged_train_config(train_tool, *argv, config=TINY_CONFIG):
    args = train_tool.parse_args([str(config), *argv])
    return train_tool.merge_args(Config.fromfile(str(config)), args)


def merged_test_config(test_tool, *argv, config=TINY_CONFIG):
    args = test_tool.parse_args([str(config), 'ckpt.pth', *argv])
    return test_tool.merge_args(Config.fromfile(str(config)), args)


def test_auto_scale_lr_turns_on_the_configs_scaling(train_tool):
    default = merged_train_config(train_tool)
    assert not default.auto_scale_lr.get('enable', False)
    cfg = merged_train_config(train_tool, '--auto-scale-lr')
    assert cfg.auto_scale_lr == dict(base_batch_size=64, enable=True)


def test_auto_scale_lr_needs_a_base_batch_size(train_tool, tmp_path):
    config = tmp_path / 'no_scaling.py'
    config.write_text('train_dataloader = dict(batch_size=8)\n')
    with pytest.raises(ValueError,
                       match=r'no_scaling\.py sets no auto_scale_lr\.'
                       r'base_batch_size.*auto_scale_lr = dict\('):
        merged_train_config(train_tool, '--auto-scale-lr', config=config)


def test_dataloader_flags_reach_every_dataloader(train_tool, test_tool):
    default = merged_train_config(train_tool)
    cfg = merged_train_config(train_tool, '--no-pin-memory',
                       '--no-persistent-workers')
    for name in DATALOADERS:
        assert cfg[name].pin_memory is False, name
        assert cfg[name].persistent_workers is False, name
        # Nothing else in the loader changes.
        assert {key: value for key, value in cfg[name].items()
                if key not in ('pin_memory', 'persistent_workers')} == {
                    key: value for key, value in default[name].items()
                    if key not in ('pin_memory', 'persistent_workers')}
    # --cfg-options comes last and wins.
    cfg = merged_train_config(train_tool, '--no-pin-memory', '--cfg-options',
                       'val_dataloader.pin_memory=True')
    assert cfg.val_dataloader.pin_memory is True
    assert cfg.train_dataloader.pin_memory is False
    cfg = merged_test_config(test_tool, '--no-pin-memory')
    assert cfg.test_dataloader.pin_memory is False
    # Loaders that --no-validate removed stay removed.
    cfg = merged_train_config(train_tool, '--no-validate', '--no-pin-memory')
    assert cfg.val_dataloader is None


def test_train_amp_resume_seed(train_tool):
    cfg = merged_train_config(train_tool, '--amp', '--resume', '--seed', '3')
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.optim_wrapper.loss_scale == 'dynamic'
    assert cfg.resume is True and cfg.load_from is None
    assert cfg.randomness.seed == 3
    cfg = merged_train_config(train_tool, '--resume', 'epoch_1.pth')
    assert cfg.load_from == 'epoch_1.pth'


def test_test_amp_and_show_dir(test_tool, tmp_path):
    assert not merged_test_config(test_tool).test_cfg.get('fp16')
    cfg = merged_test_config(test_tool, '--amp')
    assert cfg.test_cfg.fp16 is True
    assert cfg.load_from == 'ckpt.pth'
    cfg = merged_test_config(test_tool, '--show-dir', 'shown', '--interval',
                             '3')
    assert cfg.default_hooks.visualization == dict(
        type='VisualizationHook', enable=True, show=False, out_dir='shown',
        interval=3, wait_time=2, _scope_='mmpretrain')
    config = tmp_path / 'hookless.py'
    config.write_text(f"_base_ = ['{TINY_CONFIG}']\n"
                      'default_hooks = dict(visualization=None)\n')
    with pytest.raises(ValueError, match=r'hookless\.py has no default_'
                       r'hooks\.visualization; add visualization=dict'):
        merged_test_config(test_tool, '--show-dir', 'shown', config=config)


def test_tta_without_tta_settings_flips(test_tool):
    plain = Config.fromfile(str(TINY_CONFIG))
    cfg = merged_test_config(test_tool, '--tta')
    assert cfg.model.type == 'mmpretrain.AverageClsScoreTTA'
    assert cfg.model.module == plain.model
    pipeline = cfg.test_dataloader.dataset.pipeline
    assert pipeline[:-1] == plain.test_dataloader.dataset.pipeline[:-1]
    assert pipeline[-1] == dict(
        type='TestTimeAug',
        transforms=[[dict(type='RandomFlip', prob=1.),
                     dict(type='RandomFlip', prob=0.)],
                    [plain.test_dataloader.dataset.pipeline[-1]]])


def test_tta_uses_the_configs_own(test_tool, tmp_path):
    config = tmp_path / 'voting.py'
    config.write_text(
        f"_base_ = ['{TINY_CONFIG}']\n"
        "tta_model = dict(type='Voting', times=3)\n"
        "tta_pipeline = [dict(type='LoadImageFromFile'), "
        "dict(type='Views')]\n")
    cfg = merged_test_config(test_tool, '--tta', config=config)
    assert cfg.model.type == 'Voting' and cfg.model.times == 3
    assert cfg.test_dataloader.dataset.pipeline[-1] == dict(type='Views')


@pytest.mark.parametrize('argv, message', [
    (['--out-item', 'metrics'], '--out-item needs --out FILE'),
    (['--out', 'metrics.json'], 'name a .pkl file, or add --out-item'),
    (['--out', 'metrics.txt', '--out-item', 'metrics'],
     'name a .json, .yaml or .pkl file'),
    (['--tta', '--show-dir', 'shown'], 'test without --tta'),
])
def test_test_flags_that_do_not_go_together(test_tool, capsys, argv,
                                            message):
    with pytest.raises(SystemExit):
        test_tool.parse_args(['c.py', 'ckpt.pth', *argv])
    assert message in capsys.readouterr().err


def test_metrics_written_in_the_format_of_the_suffix(test_tool, tmp_path):
    import mmengine
    for name in ('m.json', 'm.yaml', 'm.pkl'):
        path = tmp_path / 'out' / name
        test_tool.write_metrics({'accuracy/top1': 50.0}, str(path),
                                test_tool.metrics_format(name))
        assert mmengine.load(str(path)) == {'accuracy/top1': 50.0}


@pytest.mark.parametrize('tool, positional', [
    ('tools/train.py', ['c.py']),
    ('tools/test.py', ['c.py', 'c.pth']),
    ('tools/model_soups.py', ['c.py', 'a.pth', '--out', 'soup.safetensors']),
    ('tools/deployment/merge_adapters.py', ['c.py', 'c.pth',
                                            'm.safetensors']),
    ('tools/model_converters/ewa_to_dense.py', ['c.py', 'c.pth',
                                                'd.safetensors']),
    ('tools/model_converters/vit_timm_to_mmpretrain.py', ['s.npz',
                                                          'd.safetensors']),
    ('tools/model_converters/point_transformer_to_adapterx.py',
     ['s.pth', 'd.safetensors']),
    ('tools/analysis_tools/finetuned_angle.py', ['p.pth', 'f.pth']),
])
def test_one_trust_flag_name(tool, positional, monkeypatch, capsys):
    module = load_tool(tool)
    for flag in ('--trust-checkpoint', '--trust'):
        monkeypatch.setattr(sys, 'argv', [tool, *positional, flag])
        assert module.parse_args().trust_checkpoint is True
    monkeypatch.setattr(sys, 'argv', [tool, '--help'])
    with pytest.raises(SystemExit):
        module.parse_args()
    shown = capsys.readouterr().out
    assert '--trust-checkpoint' in shown
    assert '--trust ' not in shown and '--trust,' not in shown


@pytest.mark.slow  # starts the launchers (which print their usage and stop)
@pytest.mark.parametrize('script, usage', [
    ('dist_train.sh', 'CONFIG GPUS [train.py args]'),
    ('dist_test.sh', 'CONFIG CHECKPOINT GPUS [test.py args]'),
    ('slurm_train.sh', 'PARTITION JOB_NAME CONFIG WORK_DIR'),
    ('dist_launch.sh', 'SCRIPT NPROC [script args]'),
])
def test_shell_launchers_print_their_usage(script, usage):
    for argv in ([], ['--help']):
        result = subprocess.run([REPO_ROOT / 'tools' / script, *argv],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 2
        assert 'usage:' in result.stderr and usage in result.stderr
        assert 'unbound variable' not in result.stderr
