"""Quiet consoles: the tools' runners and model-building tools show
warnings, errors, a progress bar and their result; mmengine's INFO messages
stay in the work dir's log file (and come back with --verbose)."""
import logging
import sys

import pytest
from mmengine.config import Config
from mmengine.logging import MMLogger

from adapterx.registry import MODELS
from adapterx.utils.console import (progress_bar, quiet_runner,
                                    quiet_tool_logger, set_console_level)
from .utils import TINY_CONFIG, build_runner, load_tool


def log_file_text(work_dir):
    (log_file, ) = work_dir.glob('*/*.log')
    return log_file.read_text()


@pytest.mark.parametrize('verbose', [False, True])
def test_a_quiet_runner_logs_info_to_its_file_only(tmp_path, tiny_image_root,
                                                   capsys, verbose):
    cfg = Config.fromfile(str(TINY_CONFIG))
    quiet_runner(cfg, verbose)
    # Runners named alike in one second share mmengine's logger instance.
    config = tmp_path / f'{tmp_path.name}.py'
    cfg.dump(str(config))
    runner = build_runner(config, tmp_path / 'work', tiny_image_root)
    runner.logger.warning('a warning')
    console = capsys.readouterr().out
    # The runner logs its environment and config at INFO when built.
    assert 'Config:' in log_file_text(tmp_path / 'work')
    assert ('Config:' in console) is verbose
    assert 'a warning' in console
    stream, = [handler for handler in runner.logger.handlers
               if not isinstance(handler, logging.FileHandler)]
    assert stream.level == (logging.INFO if verbose else logging.WARNING)


def test_console_level_names_and_mmengine_notices(capsys):
    logger = MMLogger.get_instance('test_console_levels')
    with pytest.raises(ValueError, match="console_log_level='LOUD' is not"):
        set_console_level(logger, 'LOUD')
    set_console_level(logger, 'WARNING')
    logger.info('an info')
    logger.warning('"FileClient" will be deprecated in future. Please use')
    logger.warning('a real warning')
    assert capsys.readouterr().out.splitlines()[-1].endswith(
        'a real warning')
    assert 'an info' not in capsys.readouterr().out


@pytest.mark.parametrize('verbose', [False, True])
def test_a_quiet_tool_builds_models_without_the_init_dump(capsys, verbose):
    quiet_tool_logger(f'test_console_tool_{verbose}', verbose)
    model = MODELS.build(Config.fromfile(str(TINY_CONFIG)).model)
    model.init_weights()
    # mmengine logs each parameter's initialisation at INFO.
    assert ('cls_token' in capsys.readouterr().out) is verbose


@pytest.mark.slow  # trains
def test_progress_bar_hook_shows_the_training(tmp_path, tiny_image_root,
                                              capsys):
    cfg = Config.fromfile(str(TINY_CONFIG))
    quiet_runner(cfg, verbose=False, training='tiny run')
    # Runners named alike in one second share mmengine's logger instance.
    config = tmp_path / f'{tmp_path.name}.py'
    cfg.dump(str(config))
    runner = build_runner(config, tmp_path / 'work', tiny_image_root)
    runner.train()
    console = capsys.readouterr().out
    # 2 epochs of 4 iterations; off a terminal, the final state only.
    assert 'tiny run (epoch 2/2)' in console and '8/8' in console
    assert 'Epoch(train)' not in console
    assert 'Epoch(train) [2][4/4]' in log_file_text(tmp_path / 'work')


def test_progress_bar_off_a_terminal_prints_its_end(capsys):
    with progress_bar() as progress:
        task = progress.add_task('steps', total=3)
        for _ in range(3):
            progress.advance(task)
    (line, ) = capsys.readouterr().out.splitlines()
    assert line.startswith('steps') and '3/3' in line


def test_run_vtab_steps_log_to_the_task_and_fail_with_the_end(tmp_path,
                                                              capsys):
    run_vtab = load_tool('tools/run_vtab.py')
    log = tmp_path / 'task' / 'run_vtab.log'
    run_vtab.run([sys.executable, '-c', 'print("trained")'], str(log), False)
    assert capsys.readouterr().out == ''
    run_vtab.run([sys.executable, '-c', 'print("tested")'], str(log), True)
    assert capsys.readouterr().out == 'tested\n'
    assert log.read_text().splitlines()[1::2] == ['trained', 'tested']
    failing = [sys.executable, '-c',
               'import sys; print("last words"); sys.exit(3)']
    with pytest.raises(RuntimeError,
                       match=r'failed \(exit status 3\); the end of '
                       r'.*run_vtab\.log:\n(.*\n)*last words'):
        run_vtab.run(failing, str(log), False)
