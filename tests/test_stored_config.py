"""Configs stored in checkpoints are read as data, never executed."""
import pytest
from mmengine.config import Config

from adapterx.utils.stored_config import StoredConfigError, read_stored_config


def test_a_pretty_text_reads_back_as_the_config():
    cfg = Config(
        dict(model=dict(backbone=dict(
            init_cfg=dict(type='Pretrained', checkpoint='w.pth'),
            drop_path_rate=0.1, out_indices=(-1, ), frozen=True,
            norm=None), head=[dict(type='A', channels=[1, 2])]),
             gpu_ids=[0, 1], seed=-3))
    assert read_stored_config(cfg.pretty_text, 'ckpt.pth',
                              ['model', 'gpu_ids', 'absent']) == dict(
                                  model=cfg.to_dict()['model'],
                                  gpu_ids=[0, 1])


def test_code_in_the_text_never_runs(tmp_path):
    sentinel = tmp_path / 'SENTINEL'
    payload = f"__import__('os').system('touch {sentinel}')"
    text = f'{payload}\nseed = 1\nmodel = dict(x={payload})\n'
    # Statements other than the settings asked for are not even read.
    assert read_stored_config(text, 'ckpt.pth', ['seed']) == dict(seed=1)
    with pytest.raises(StoredConfigError) as error:
        read_stored_config(text, 'ckpt.pth', ['model'])
    assert str(error.value) == (
        'The config stored in ckpt.pth sets model (line 3) to something '
        'other than plain data (a call other than dict(key=value, ...)); it '
        'is not executed, so model cannot be read from it')
    assert not sentinel.exists()


@pytest.mark.parametrize('value', [
    'dict(**other)', '{**other}', 'some_name', 'dict([("a", 1)])',
    '[x for x in ()]', 'lambda: 0', '1 + f()'])
def test_anything_but_plain_data_is_refused(value):
    with pytest.raises(StoredConfigError, match=r'sets gpu_ids \(line 1\)'):
        read_stored_config(f'gpu_ids = {value}\n', 'ckpt.pth', ['gpu_ids'])


def test_text_that_is_not_python_is_named():
    with pytest.raises(StoredConfigError,
                       match=r'The config stored in ckpt.pth is not valid '
                       r'Python \(line 2: '):
        read_stored_config('a = 1\nb = (\n', 'ckpt.pth', ['a'])
