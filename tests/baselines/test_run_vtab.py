"""tools/run_vtab.py with one method config for all 19 tasks: the task's
selection and the config's per-task settings reach training and testing;
the per-task template mode is unchanged."""
import argparse
import json
import sys

import pytest

from adapterx.datasets import VTAB1K_TASKS
from ..utils import REPO_ROOT, load_tool

FACT_TT = (REPO_ROOT / 'configs' / 'fact' /
           'fact-tt_vit-b16_8xb8-100e_vtab1k-cifar.py')


@pytest.fixture(scope='module')
def run_vtab():
    return load_tool('tools/run_vtab.py')


def commands_for(run_vtab,
                 monkeypatch,
                 tmp_path,
                 template,
                 task,
                 cfg_options=()):
    """The train and test commands run_vtab would run for ``task``."""
    commands = []

    def record(command, log_path, verbose):
        commands.append(command)
        work_dir = tmp_path / task
        work_dir.mkdir(parents=True, exist_ok=True)
        (work_dir / 'last_checkpoint').write_text(str(work_dir / 'e.pth'))

    monkeypatch.setattr(run_vtab, 'run', record)
    args = argparse.Namespace(template=str(template),
                              gpus=1,
                              work_dir_root=str(tmp_path),
                              cfg_options=list(cfg_options),
                              verbose=False)
    run_vtab.train_and_test(task, args)
    return commands


def options_of(command):
    return command[command.index('--cfg-options') + 1:]


def test_one_config_for_all_tasks(run_vtab, monkeypatch, tmp_path):
    train, test = commands_for(run_vtab, monkeypatch, tmp_path, FACT_TT, 'dtd',
                               ['model.peft.dropout=0.0'])
    assert str(FACT_TT) in train and str(FACT_TT) in test
    classes = VTAB1K_TASKS['dtd'].num_classes
    for command in (train, test):
        options = options_of(command)
        for split in ('train', 'val', 'test'):
            assert f'{split}_dataloader.dataset.task=dtd' in options
        assert f'model.head.num_classes={classes}' in options
        assert f'data_preprocessor.num_classes={classes}' in options
        # FacT-TT's rank and scale for dtd in its code, then the user's.
        assert options[-3:] == [
            'model.peft.rank=8', 'model.peft.scale=0.01',
            'model.peft.dropout=0.0'
        ]


@pytest.mark.parametrize('task, in_name', [
    ('dtd', 'dtd'), ('oxford_flowers102', 'oxford-flowers102')])
def test_template_mode_is_unchanged(run_vtab, monkeypatch, tmp_path, task,
                                    in_name):
    template = (REPO_ROOT / 'configs' / 'adapterx' /
                'adapterx_vit-b16_8xb8-100e_vtab1k-{task}.py')
    train, _ = commands_for(run_vtab, monkeypatch, tmp_path, template, task)
    assert str(template).format(task=in_name) in train
    assert '--cfg-options' not in train


def test_per_task_options_must_name_vtab_tasks(run_vtab, tmp_path):
    config = tmp_path / 'method.py'
    config.write_text(f"_base_ = ['{FACT_TT}']\n"
                      'vtab_task_options = dict(cifar10=dict(a=1))\n')
    with pytest.raises(ValueError, match=r"names \['cifar10'\]"):
        run_vtab.task_options(str(config), 'dtd')


def test_a_subset_of_tasks_joins_the_earlier_results(run_vtab, monkeypatch,
                                                     tmp_path, capsys):
    def write_result(task, accuracy):
        (tmp_path / task).mkdir(exist_ok=True)
        (tmp_path / task / 'test_metrics.json').write_text(
            json.dumps({'accuracy/top1': accuracy}))

    write_result('cifar', 70.0)
    write_result('dtd', 60.0)
    monkeypatch.setattr(run_vtab, 'train_and_test',
                        lambda task, args: write_result(task, 65.0))
    monkeypatch.setattr(sys, 'argv', [
        'run_vtab.py', '--tasks', 'dtd', 'eurosat', '--work-dir-root',
        str(tmp_path)
    ])
    run_vtab.main()
    results = json.loads((tmp_path / 'vtab_results.json').read_text())
    assert results['accuracies'] == {'cifar': 70.0, 'dtd': 65.0,
                                     'eurosat': 65.0}
    missing = capsys.readouterr().out.split('No result yet for: ')[1]
    assert missing.strip().split(', ') == [
        task for task in VTAB1K_TASKS
        if task not in ('cifar', 'dtd', 'eurosat')
    ]
    table = (tmp_path / 'vtab_results.md').read_text()
    assert '70.0' in table and '65.0' in table
