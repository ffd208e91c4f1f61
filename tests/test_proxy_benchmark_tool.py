"""tools/demo/run_proxy_benchmark.py: each method's run config, and the
quick benchmark end to end (written data, sweep, final runs, table, plot,
resume)."""
import argparse
import json
import sys

import pytest
from mmengine.config import Config

from .utils import PEFT_BASES, REPO_ROOT, load_tool, run_tool

TOOL = 'tools/demo/run_proxy_benchmark.py'


@pytest.fixture(scope='module')
def tool():
    return load_tool(TOOL)


def test_the_default_backbone_is_the_digits_demos(tool):
    backbone = tool.demo_backbone()
    assert backbone.endswith('tools/demo/vit_demo_fractal.safetensors')
    assert Config.fromfile(str(REPO_ROOT / 'configs' / 'demo' /
                               'adapterx_vit-demo_1xb32-10e_digits.py')
                           ).model.backbone.init_cfg.checkpoint == backbone


@pytest.mark.parametrize('method', list(load_tool(TOOL).METHODS))
def test_each_method_runs_its_peft_base_on_the_proxy_task(tool, method,
                                                          tmp_path):
    args = argparse.Namespace(data_root=str(tmp_path / 'data'),
                              backbone='weights.pth', subset=None,
                              epochs=None, keep_weights=False)
    cfg = tool.build_config(method, 'proxy_azimuth', 'train800', 'val200',
                            3e-3, 2, str(tmp_path / 'run'), args)
    # The runner dumps it under the method's and task's name.
    assert cfg.filename == f'{method}_proxy_azimuth.py'
    base = Config.fromfile(str(PEFT_BASES / f'{method}.py'))
    assert cfg.model.peft.to_dict() == base.peft.to_dict()
    assert [hook['type'] for hook in cfg.custom_hooks] == [
        hook['type'] for hook in base.custom_hooks
        if hook['type'] != 'TrainableCheckpointHook']
    assert cfg.default_hooks.checkpoint is None
    assert cfg.model.backbone.init_cfg.checkpoint == 'weights.pth'
    assert cfg.model.head.num_classes == 18
    assert cfg.data_preprocessor.num_classes == 18
    train, test = cfg.train_dataloader.dataset, cfg.test_dataloader.dataset
    assert (train.type, train.task, train.split, test.split) == (
        'VTAB1k', 'proxy_azimuth', 'train800', 'val200')
    assert train.tasks['proxy_azimuth'] == dict(group='Structured',
                                                num_classes=18)
    assert cfg.val_dataloader is None and cfg.val_cfg is None
    assert cfg.optim_wrapper.optimizer.lr == 3e-3
    assert cfg.randomness.seed == 2
    # The digits demo's schedule.
    assert cfg.train_cfg.max_epochs == 10


@pytest.mark.parametrize('method', ['full_finetune', 'adapterx'])
def test_kept_weights_are_the_trainable_tensors_at_the_end(tool, method,
                                                           tmp_path):
    args = argparse.Namespace(data_root=str(tmp_path / 'data'),
                              backbone='weights.pth', subset=None,
                              epochs=3, keep_weights=True)
    cfg = tool.build_config(method, 'proxy_count', 'train800', 'val200',
                            1e-3, 0, str(tmp_path / 'run'), args)
    kept = [hook for hook in cfg.custom_hooks
            if hook['type'] == 'TrainableCheckpointHook']
    assert kept == [dict(type='TrainableCheckpointHook', interval=3)]


def test_unknown_methods_are_refused(tool, monkeypatch, capsys):
    monkeypatch.setattr(sys, 'argv', [TOOL, '--methods', 'lora', 'loraa'])
    with pytest.raises(SystemExit):
        tool.parse_args()
    assert '--methods: no PEFT base loraa in' in capsys.readouterr().err


@pytest.mark.slow
def test_quick_benchmark_end_to_end_and_resumed(tmp_path):
    command = [sys.executable, REPO_ROOT / TOOL, '--quick', '--work-dir',
               tmp_path]
    output = run_tool(*command)
    progress = [line for line in output.splitlines()
                if line.startswith('[')]
    # 2 tasks x 3 methods x (2 learning rates + 1 seed).
    assert len(progress) == 18 and progress[-1].startswith('[18/18]')
    assert 'Wrote proxy_digits, proxy_location' in output
    record = json.loads((tmp_path / 'proxy_vtab.json').read_text())
    assert record['header'][:3] == ['method', 'digits', 'location']
    assert [row[0] for row in record['rows']] == [
        'Linear probing', 'LoRA', 'Adapter-X']
    for row in record['rows']:
        accuracies = [float(cell) for cell in row[1:6]]
        assert all(0 <= value <= 100 for value in accuracies)
        # The mean of the Natural (digits) and Structured (location) means.
        assert accuracies[4] == pytest.approx(
            (accuracies[2] + accuracies[3]) / 2, abs=0.11)
    probe, lora = record['rows'][0], record['rows'][1]
    assert probe[-4:-2] == ['0', '0.00'] and float(lora[-3]) > 0
    methods = record['data']['methods']
    assert set(methods[0]['val_accuracies']['proxy_digits']) == {
        '0.001', '0.01'}
    assert len(methods[0]['test_accuracies']['proxy_digits']) == 1
    assert (tmp_path / 'proxy_vtab.png').stat().st_size > 10_000
    run = (tmp_path / 'runs' / 'lora' / 'proxy_location' /
           'final_lr{:g}_seed0'.format(
               methods[1]['learning_rates']['proxy_location']))
    assert (run / 'result.json').is_file()
    assert (run / 'lora_proxy_location.py').is_file()
    # Results, not weights, unless asked.
    assert not list(run.glob('*.safetensors'))

    again = run_tool(*command)
    assert again.count('done before') == 18
    assert json.loads((tmp_path / 'proxy_vtab.json').read_text())[
        'rows'] == record['rows']


@pytest.mark.slow
def test_kept_weights_feed_the_routing_diagnostics(tmp_path):
    """A benchmark run of Adapter-X kept with --keep-weights: its dumped
    config and trainable tensors are what smoa_routing.py reads."""
    run_tool(sys.executable, REPO_ROOT / TOOL, '--quick', '--keep-weights',
             '--methods', 'adapterx', '--tasks', 'proxy_location',
             '--learning-rates', '1e-2', '--work-dir', tmp_path)
    run = tmp_path / 'runs' / 'adapterx' / 'proxy_location' / \
        'final_lr0.01_seed0'
    config = run / 'adapterx_proxy_location.py'
    assert Config.fromfile(str(config)).model.peft.type == 'AdapterX'
    output = run_tool(sys.executable,
                      REPO_ROOT / 'tools/analysis_tools/smoa_routing.py',
                      config, run / 'trainable_epoch_1.safetensors',
                      '--out', tmp_path / 'routing')
    assert '| block 5 mlp |' in output
    routing = json.loads((tmp_path / 'routing' / 'smoa_routing.json')
                         .read_text())
    assert routing['command'].startswith('tools/analysis_tools/smoa_routing')
