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

from adapterx.checkpoint.io import PARTIAL_NAME, remove_stale_partial_files
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


def test_the_oldest_kept_checkpoint_goes_after_the_new_one_is_saved(
        tmp_path):
    runner = fake_runner(tmp_path)
    # Its own: the kept steps of another test's hook must not carry over.
    runner.message_hub = MessageHub.get_instance(str(tmp_path))
    saved_with = {}

    def save_checkpoint(out_dir, filename, *args, **kwargs):
        # What the checkpoint would record, and what is on disk meanwhile.
        saved_with[filename] = (
            runner.message_hub.get_info('keep_ckpt_ids'),
            sorted(path.name for path in tmp_path.glob('epoch_*.pth')))
        (tmp_path / filename).write_text('weights')

    runner.save_checkpoint = save_checkpoint
    hook = AtomicCheckpointHook(interval=1, max_keep_ckpts=2)
    hook.before_train(runner)
    for epoch in (1, 2, 3, 4):
        hook._save_checkpoint_with_step(runner, epoch, dict(epoch=epoch))
    assert saved_with['epoch_4.pth'] == ([2, 3, 4],
                                         ['epoch_2.pth', 'epoch_3.pth'])
    assert sorted(path.name for path in tmp_path.glob('epoch_*.pth')) == [
        'epoch_3.pth', 'epoch_4.pth']
    assert runner.message_hub.get_info('keep_ckpt_ids') == [3, 4]
    assert list(hook.keep_ckpt_ids) == [3, 4]


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


# Dies (as SIGKILL would: no cleanup, no exception) at the point of the
# epoch-2 save that KILL_AT names.
KILL_DURING_THE_EPOCH_2_SAVE = '''
import os

import mmengine.runner.runner as runner_module

KILL_AT = os.environ['KILL_AT']
save_checkpoint = runner_module.save_checkpoint
replace = os.replace


def die():
    os._exit(137)


def save_or_die(checkpoint, filepath, **kwargs):
    if KILL_AT == 'writing epoch_2' and checkpoint['meta']['epoch'] == 2:
        with open(filepath, 'wb') as file:
            file.write(b'the first bytes of a checkpoint')
        die()
    return save_checkpoint(checkpoint, filepath, **kwargs)


def replace_or_die(source, destination):
    name = os.path.basename(destination)
    pointing_to_epoch_2 = name == 'last_checkpoint' and open(
        source).read().endswith('epoch_2.pth')
    if KILL_AT == 'replacing the pointer' and pointing_to_epoch_2:
        die()
    replace(source, destination)
    if (KILL_AT == 'epoch_2 in place' and name == 'epoch_2.pth'
            or KILL_AT == 'pointer replaced' and pointing_to_epoch_2):
        die()


runner_module.save_checkpoint = save_or_die
os.replace = replace_or_die
'''


@pytest.mark.slow
@pytest.mark.parametrize('kill_at, resumed_epoch', [
    ('writing epoch_2', 1),
    ('epoch_2 in place', 1),
    ('replacing the pointer', 1),
    ('pointer replaced', 2),
])
def test_a_kill_anywhere_in_a_save_with_one_kept_checkpoint_leaves_one(
        tmp_path, tiny_image_root, kill_at, resumed_epoch):
    """max_keep_ckpts=1: mmengine would remove epoch_1.pth before writing
    epoch_2.pth, so a kill while writing it left no checkpoint at all."""
    from adapterx.checkpoint import load_runner_checkpoint
    from ..utils import REPO_ROOT, TINY_CONFIG, data_root_options, train
    (tmp_path / 'kill_during_the_epoch_2_save.py').write_text(
        KILL_DURING_THE_EPOCH_2_SAVE)
    config = tmp_path / 'killed.py'
    config.write_text(
        f"_base_ = ['{TINY_CONFIG}']\n"
        "custom_imports = dict(imports=['kill_during_the_epoch_2_save'])\n")
    work_dir = tmp_path / 'run'
    keep_one = 'default_hooks.checkpoint.max_keep_ckpts=1'
    killed = subprocess.run(
        [sys.executable, REPO_ROOT / 'tools' / 'train.py', config,
         '--work-dir', work_dir, '--cfg-options', keep_one,
         *data_root_options(tiny_image_root)],
        cwd=REPO_ROOT, env=dict(os.environ, KILL_AT=kill_at,
                                PYTHONPATH=os.pathsep.join(
                                    [str(tmp_path), str(REPO_ROOT)])),
        capture_output=True, text=True)
    assert killed.returncode == 137, killed.stderr[-3000:]

    pointed = (work_dir / 'last_checkpoint').read_text()
    assert pointed == str(work_dir / f'epoch_{resumed_epoch}.pth')
    checkpoint = load_runner_checkpoint(pointed)
    assert checkpoint['meta']['epoch'] == resumed_epoch
    assert 'optimizer' in checkpoint

    log = train(TINY_CONFIG, work_dir, '--resume', keep_one,
                data_root=tiny_image_root)
    assert f'resumed epoch: {resumed_epoch}' in log
    # The one kept checkpoint, and nothing a killed save left behind.
    assert sorted(p.name for p in work_dir.iterdir()
                  if p.suffix in ('.pth', '.partial')) == ['epoch_2.pth']
    assert (work_dir / 'last_checkpoint').read_text() == str(
        work_dir / 'epoch_2.pth')
