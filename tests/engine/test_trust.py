"""No code from a checkpoint runs without a trust flag: payloads planted in
every string and pickled field of a real runner checkpoint, given to
resume, auto-resume, load_from and tools/test.py; the message hub's
statistics without getattr; the warning of a trusted full unpickle."""
import builtins
import logging
import os
import pickle
import sys

import pytest
import torch
from mmengine.logging import MMLogger
from mmengine.logging.history_buffer import HistoryBuffer

from adapterx.checkpoint import (UntrustedCheckpointError,
                                 load_runner_checkpoint)
from adapterx.checkpoint.trust import pickle_globals
from adapterx.utils.stored_config import StoredConfigError
from ..utils import (REPO_ROOT, TINY_CONFIG, build_runner, data_root_options,
                     run_tool, train_in_process)


@pytest.fixture(scope='module')
def trained(tmp_path_factory, tiny_image_root):
    """A runner checkpoint after epoch 1 of the tiny two-epoch schedule."""
    work_dir = tmp_path_factory.mktemp('trained')
    train_in_process(TINY_CONFIG, work_dir, tiny_image_root,
                     **{'train_cfg.max_epochs': 1})
    return work_dir / 'epoch_1.pth'


def payload(sentinel):
    return f"__import__('os').system('touch {sentinel}')"


def replace_strings(value, text):
    """``value`` with every string in it (dict values, list items) replaced
    by ``text``."""
    if isinstance(value, str):
        return text
    if isinstance(value, dict):
        return type(value)(
            (key, replace_strings(item, text)) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return type(value)(replace_strings(item, text) for item in value)
    return value


def run(config_options, work_dir, data_root, phase='train'):
    runner = build_runner(TINY_CONFIG, work_dir, data_root, **config_options)
    return runner, getattr(runner, phase)()


def planted_with_strings(trained, path, sentinel, config_text):
    checkpoint = load_runner_checkpoint(str(trained))
    text = payload(sentinel)
    # Every string mmengine and adapterx store: config, experiment name,
    # time, version, dataset classes; the message hub's runtime info.
    meta = checkpoint['meta']
    random_state = meta.pop('random_state')
    checkpoint['meta'] = dict(replace_strings(meta, text),
                              random_state=random_state,
                              config=config_text)
    hub = checkpoint['message_hub']
    hub['runtime_info'] = replace_strings(hub['runtime_info'], text)
    torch.save(checkpoint, path)
    return path


@pytest.mark.slow
def test_resume_ignores_payloads_in_every_string_field(
        trained, tmp_path, tiny_image_root):
    sentinel = tmp_path / 'SENTINEL'
    # mmengine's resume would execute meta['config'].
    planted = planted_with_strings(trained, tmp_path / 'planted.pth',
                                   sentinel, payload(sentinel))
    runner, _ = run(dict(resume=True, load_from=str(planted)),
                    tmp_path / 'resumed', tiny_image_root)
    assert runner.epoch == 2  # resumed after epoch 1, trained epoch 2
    assert not sentinel.exists()

    # Auto-resume: the file is the work dir's latest checkpoint.
    work_dir = tmp_path / 'auto'
    work_dir.mkdir()
    (work_dir / 'epoch_1.pth').write_bytes(planted.read_bytes())
    (work_dir / 'last_checkpoint').write_text(str(work_dir / 'epoch_1.pth'))
    runner, _ = run(dict(resume=True), work_dir, tiny_image_root)
    assert runner.epoch == 2
    assert not sentinel.exists()

    # load_from, then tools/test.py (a fresh interpreter, as a user runs it).
    run(dict(load_from=str(planted), **{'train_cfg.max_epochs': 1}),
        tmp_path / 'loaded', tiny_image_root)
    output = run_tool(sys.executable, REPO_ROOT / 'tools' / 'test.py',
                      TINY_CONFIG, planted, '--work-dir', tmp_path / 'test',
                      '--cfg-options', *data_root_options(tiny_image_root))
    assert "{'accuracy/top1':" in output
    assert not sentinel.exists()


@pytest.mark.slow
def test_a_stored_config_that_is_not_data_is_refused_naming_the_file(
        trained, tmp_path, tiny_image_root):
    sentinel = tmp_path / 'SENTINEL'
    planted = planted_with_strings(trained, tmp_path / 'planted.pth',
                                   sentinel,
                                   f'gpu_ids = {payload(sentinel)}\n')
    with pytest.raises(StoredConfigError) as error:
        run(dict(resume=True, load_from=str(planted)), tmp_path / 'resumed',
            tiny_image_root)
    assert str(error.value).startswith(
        f"The config stored in {planted} (meta['config']) sets gpu_ids "
        '(line 1) to something other than plain data')
    assert not sentinel.exists()


@pytest.mark.slow
def test_the_gpu_count_check_reads_the_stored_config_as_data(
        trained, tmp_path, tiny_image_root):
    planted = planted_with_strings(trained, tmp_path / 'planted.pth',
                                   tmp_path / 'unused',
                                   'gpu_ids = [0, 1]\n')
    with pytest.raises(RuntimeError,
                       match=rf'{planted} was trained on 2 GPU\(s\), this '
                       r'run has 1 process\(es\)'):
        run(dict(resume=True, load_from=str(planted)), tmp_path / 'resumed',
            tiny_image_root)


class Reduce:
    """Pickles as ``func(*args)``: what a crafted file makes the unpickler
    call."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args

    # pickle wants the function of a reduce callable; a chain's step is
    # called when the file is unpickled, never here.
    def __call__(self, *args):
        raise TypeError('a pickling stand-in')


@pytest.mark.slow
@pytest.mark.parametrize(
    'field', ['meta', 'state_dict', 'message_hub', 'optimizer',
              'param_schedulers'])
def test_a_pickled_payload_in_any_field_is_refused_on_every_path(
        trained, tmp_path, tiny_image_root, field):
    sentinel = tmp_path / 'SENTINEL'
    checkpoint = load_runner_checkpoint(str(trained))
    checkpoint[field] = Reduce(os.system, f'touch {sentinel}')
    planted = tmp_path / 'planted.pth'
    torch.save(checkpoint, planted)
    for options in (dict(resume=True, load_from=str(planted)),
                    dict(load_from=str(planted))):
        with pytest.raises(UntrustedCheckpointError) as error:
            run(options, tmp_path / 'refused', tiny_image_root)
        assert str(error.value).startswith(
            f'{planted} needs full unpickling (')
        assert 'posix.system' in str(error.value)
    assert not sentinel.exists()


@pytest.mark.slow
def test_new_checkpoints_hold_no_getattr_or_history_buffer(trained):
    names = pickle_globals(trained)
    assert 'builtins.getattr' not in names
    assert 'mmengine.logging.history_buffer.HistoryBuffer' not in names
    loaded = load_runner_checkpoint(str(trained))
    losses = loaded['message_hub']['log_scalars']['train/loss']
    assert type(losses) is HistoryBuffer and len(losses.data[0]) == 4


@pytest.mark.slow
def test_a_checkpoint_as_mmengine_pickles_it_still_resumes(
        trained, tmp_path, tiny_image_root):
    """Files written before the buffers were stored as arrays: HistoryBuffer
    objects, their statistics methods as getattr(HistoryBuffer, name)."""
    checkpoint = load_runner_checkpoint(str(trained))
    expected = checkpoint['message_hub']['log_scalars']
    old_format = tmp_path / 'epoch_1.pth'
    torch.save(checkpoint, old_format)
    assert {'builtins.getattr',
            'mmengine.logging.history_buffer.HistoryBuffer'
            } <= set(pickle_globals(old_format))
    loaded = load_runner_checkpoint(str(old_format))['message_hub']
    for key, buffer in loaded['log_scalars'].items():
        assert type(buffer) is HistoryBuffer
        for mine, theirs in zip(buffer.data, expected[key].data):
            assert (mine == theirs).all(), key
    runner, _ = run(dict(resume=True, load_from=str(old_format)),
                    tmp_path / 'resumed', tiny_image_root)
    assert runner.epoch == 2


def through_getattr(*chain):
    """Reduce objects that reach an attribute chain from HistoryBuffer
    with getattr alone (``('update', '__globals__')``...)."""
    target = HistoryBuffer
    for name in chain:
        target = Reduce(getattr, target, name)
    return target


# What a free getattr reaches from HistoryBuffer (the builtins of one of
# its methods), and calls through the allowed getattr result.
TO_EVAL = Reduce(through_getattr('update', '__builtins__', 'get'), 'eval')
TO_IMPORT = Reduce(through_getattr('update', '__builtins__', 'get'),
                   '__import__')
TO_SYSTEM = Reduce(getattr, Reduce(TO_IMPORT, 'os'), 'system')


@pytest.mark.parametrize('reached, target', [
    (through_getattr('__init__'), HistoryBuffer.__init__),
    (TO_EVAL, builtins.eval),
    (TO_IMPORT, builtins.__import__),
    (TO_SYSTEM, os.system),
])
def test_getattr_reaches_only_the_history_buffer_statistics(
        tmp_path, reached, target):
    # Unpickled in full, the file gives the target (no call of it).
    assert pickle.loads(pickle.dumps(reached)) is target
    path = tmp_path / 'epoch_1.pth'
    buffer = HistoryBuffer()
    buffer.update(1.0)
    torch.save(
        dict(message_hub=dict(log_scalars=dict(loss=buffer, x=reached))),
        path)
    with pytest.raises(UntrustedCheckpointError) as error:
        load_runner_checkpoint(str(path))
    assert str(error.value).startswith(f'{path} needs full unpickling (')
    assert ('runner checkpoints use getattr only for the HistoryBuffer '
            'statistics min, max, current, mean') in str(error.value)


def test_a_file_cannot_replace_the_statistics_methods(tmp_path,
                                                     monkeypatch):
    """mmengine's __setstate__ registers the file's statistics methods on
    the HistoryBuffer class, for every buffer of the process; loading must
    not."""
    buffer = HistoryBuffer([1.0, 3.0], [1, 1])
    # A file whose 'mean' would compute the maximum.
    forged = dict(vars(buffer), statistics_methods=dict(mean=HistoryBuffer.max))
    path = tmp_path / 'epoch_1.pth'
    with monkeypatch.context() as patch:
        patch.setattr(HistoryBuffer, '__getstate__', lambda self: forged)
        torch.save(dict(message_hub=dict(log_scalars=dict(loss=buffer))),
                   path)
    loaded = load_runner_checkpoint(str(path))
    assert loaded['message_hub']['log_scalars']['loss'].mean() == 2.0
    assert HistoryBuffer._statistics_methods['mean'] is HistoryBuffer.mean
    assert HistoryBuffer([1.0, 3.0], [1, 1]).statistics('mean') == 2.0


class NotATensor:
    """A class no weights-only load may construct."""

    def __init__(self, value):
        self.value = value


@pytest.fixture
def warnings_logged():
    records = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = records.append
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)


def test_trusted_full_unpickling_warns_once_naming_file_and_globals(
        tmp_path, warnings_logged):
    path = tmp_path / 'foreign.pth'
    torch.save({'payload': NotATensor(3), 'w': torch.ones(2)}, path)
    for _ in range(2):
        assert load_runner_checkpoint(str(path), trust=True)[
            'payload'].value == 3
    messages = [record.getMessage() for record in warnings_logged]
    assert len(messages) == 2  # one per load
    assert messages[0].startswith(f'Fully unpickling {path} (trusted)')
    assert f'{__name__}.NotATensor' in messages[0]
    assert 'torch._utils._rebuild_tensor_v2' in messages[0]
    # Weights-only loads, trusted or not, warn nothing.
    plain = tmp_path / 'plain.pth'
    torch.save({'w': torch.ones(2)}, plain)
    load_runner_checkpoint(str(plain), trust=True)
    assert len(warnings_logged) == 2


def test_pickle_globals_reads_the_legacy_format(tmp_path):
    path = tmp_path / 'legacy.pth'
    torch.save({'payload': NotATensor(1)}, path,
               _use_new_zipfile_serialization=False)
    assert f'{__name__}.NotATensor' in pickle_globals(path)
