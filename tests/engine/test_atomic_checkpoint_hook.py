"""What a kill during a save leaves behind: the ``last_checkpoint`` pointer
stays whole, and temporary files of dead writers are removed at the next
start."""
import os
import subprocess
import sys
from types import SimpleNamespace

import mmengine.hooks.checkpoint_hook as checkpoint_hook_module
import pytest
from mmengine.logging import MessageHub, MMLogger

from adapterx.engine.checkpoint import (PARTIAL_NAME,
                                        remove_stale_partial_files)
from adapterx.engine.hooks import AtomicCheckpointHook


def dead_pid():
    process = subprocess.Popen([sys.executable, '-c', 'pass'])
    process.wait()
    return process.pid


def test_only_the_partial_files_of_dead_writers_are_removed(tmp_path):
    dead = tmp_path / PARTIAL_NAME.format(name='epoch_2.pth', pid=dead_pid())
    alive = tmp_path / PARTIAL_NAME.format(name='epoch_3.pth',
                                           pid=os.getpid())
    unrelated = tmp_path / '.epoch_2.pth.notapid.partial'
    for path in (dead, alive, unrelated):
        path.write_bytes(b'half a checkpoint')
    assert remove_stale_partial_files(tmp_path) == [str(dead)]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [alive.name, unrelated.name])


def fake_runner(work_dir):
    """What CheckpointHook uses of a runner; 'saving' writes a small file."""

    def save_checkpoint(out_dir, filename, *args, **kwargs):
        (work_dir / filename).write_text('weights')

    return SimpleNamespace(
        work_dir=str(work_dir),
        logger=MMLogger.get_instance('atomic_checkpoint_hook_test'),
        message_hub=MessageHub.get_instance('atomic_checkpoint_hook_test'),
        save_checkpoint=save_checkpoint,
        epoch=0,
        iter=0)


class Killed(BaseException):
    """Stands for a SIGKILL: nothing after it runs."""


def test_kill_while_writing_the_pointer_keeps_the_previous_one(
        tmp_path, monkeypatch):
    runner = fake_runner(tmp_path)
    hook = AtomicCheckpointHook(interval=1)
    hook.before_train(runner)
    hook._save_checkpoint_with_step(runner, 1, dict(epoch=1))
    pointer = tmp_path / 'last_checkpoint'
    assert pointer.read_text() == str(tmp_path / 'epoch_1.pth')

    def open_then_die(path, mode='r', *args, **kwargs):
        file = open(path, mode, *args, **kwargs)
        if os.path.basename(path) == 'last_checkpoint' and 'w' in mode:
            raise Killed  # opened for writing (truncated), nothing written
        return file

    # CheckpointHook's own `open`, the one that writes the pointer.
    monkeypatch.setattr(checkpoint_hook_module, 'open', open_then_die,
                        raising=False)
    with pytest.raises(Killed):
        hook._save_checkpoint_with_step(runner, 2, dict(epoch=2))
    assert (tmp_path / 'epoch_2.pth').is_file()
    assert pointer.read_text() == str(tmp_path / 'epoch_1.pth')

    monkeypatch.undo()
    hook._save_checkpoint_with_step(runner, 3, dict(epoch=3))
    assert pointer.read_text() == str(tmp_path / 'epoch_3.pth')
    assert not list(tmp_path.glob('.*.partial'))


def test_peft_runner_builds_the_atomic_hook(tmp_path):
    from mmengine.config import Config

    from adapterx.engine import PeftRunner
    from adapterx.utils import register_all_modules
    from ..utils import TINY_CONFIG
    register_all_modules(init_default_scope=False)
    cfg = Config.fromfile(TINY_CONFIG)
    cfg.work_dir = str(tmp_path)
    runner = PeftRunner.from_cfg(cfg)
    assert sum(isinstance(hook, AtomicCheckpointHook)
               for hook in runner.hooks) == 1
