"""The checkpoint package: what it may import, and the helpers that
replaced the copies other packages had (DDP unwrapping, ``module.``
stripping, averaging)."""
import ast
import subprocess
import sys

import pytest
import torch
import torch.nn as nn
from mmengine.model import BaseModel, BaseTTAModel

from adapterx.checkpoint import average_state_dicts, unwrap_model
from adapterx.checkpoint.loading import (CheckpointMismatchError,
                                         apply_checkpoint)
from adapterx.models.merging import weight_average
from ..utils import REPO_ROOT

PACKAGE_ROOT = REPO_ROOT / 'adapterx'


def imported_modules(path, root=REPO_ROOT):
    """Every module ``path`` (a file under ``root``) imports, relative
    imports resolved, those inside functions included."""
    parts = list(path.relative_to(root).with_suffix('').parts)
    # What a relative import of level 1 is relative to.
    package = parts[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                module = '.'.join(base + ([node.module] if node.module
                                          else []))
            else:
                module = node.module
            found += [module] + [f'{module}.{alias.name}'
                                 for alias in node.names]
    return found


def imports_of(directory, forbidden):
    """``file: module`` for each import under ``directory`` of a module in
    one of the ``forbidden`` packages."""
    return [
        f'{path.relative_to(REPO_ROOT)}: {module}'
        for path in sorted(directory.rglob('*.py'))
        for module in imported_modules(path)
        if any(module == package or module.startswith(package + '.')
               for package in forbidden)
    ]


def test_the_import_parser_sees_relative_and_function_level_imports(
        tmp_path):
    probe = tmp_path / 'adapterx' / 'models' / 'partial_ft' / 'probe.py'
    probe.parent.mkdir(parents=True)
    probe.write_text('def load():\n'
                     '    from ...engine.checkpoint import a\n'
                     'from .units import b\n'
                     'import adapterx.engine\n')
    found = imported_modules(probe, tmp_path)
    assert 'adapterx.engine.checkpoint' in found
    assert 'adapterx.models.partial_ft.units' in found
    assert 'adapterx.engine' in found
    init = tmp_path / 'adapterx' / 'models' / '__init__.py'
    init.write_text('from ..engine import runner\n')
    assert imported_modules(init, tmp_path)[0] == 'adapterx.engine'


def test_models_do_not_import_the_engine():
    assert imports_of(PACKAGE_ROOT / 'models', ['adapterx.engine']) == []


def test_checkpoint_io_imports_neither_engine_nor_tools():
    assert imports_of(PACKAGE_ROOT / 'checkpoint',
                      ['adapterx.engine', 'tools']) == []


def test_only_strict_loading_knows_the_models():
    # The models package imports the checkpoint package: any other module
    # of it importing the models would make the two import each other.
    importers = imports_of(PACKAGE_ROOT / 'checkpoint', ['adapterx.models'])
    assert importers and all(
        line.startswith('adapterx/checkpoint/loading.py: ')
        for line in importers), importers


def test_pretrained_initialisation_is_found_without_the_engine():
    script = (
        'import sys\n'
        'from mmengine import DefaultScope\n'
        'from mmengine.registry import WEIGHT_INITIALIZERS, build_from_cfg\n'
        "DefaultScope.get_instance('probe', scope_name='adapterx')\n"
        'import adapterx.models\n'
        "init = build_from_cfg(dict(type='Pretrained', checkpoint='x'),\n"
        '                      WEIGHT_INITIALIZERS)\n'
        "print(type(init).__module__, type(init).__name__,\n"
        "      'adapterx.engine' in sys.modules)\n")
    result = subprocess.run([sys.executable, '-c', script],
                            capture_output=True, text=True, cwd=REPO_ROOT,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        'adapterx.checkpoint.loading', 'StrictPretrainedInit', 'False'
    ]


class _Identity(BaseModel):

    def forward(self, inputs, data_samples=None, mode='tensor'):
        return inputs


class _TestTimeAugmented(BaseTTAModel):

    def merge_preds(self, data_samples_list):
        return data_samples_list[0]


def test_unwrap_model_removes_every_wrapper_and_keeps_a_plain_model():
    model = _Identity()
    assert unwrap_model(model) is model
    assert unwrap_model(nn.DataParallel(model)) is model
    assert unwrap_model(_TestTimeAugmented(module=model)) is model
    assert unwrap_model(
        nn.DataParallel(_TestTimeAugmented(module=model))) is model
    # A model that merely has a ``module`` attribute is no wrapper.
    holder = nn.Sequential()
    holder.module = model
    assert unwrap_model(holder) is holder


def test_apply_checkpoint_strips_the_ddp_prefix_unless_told_otherwise():
    source = nn.Linear(3, 2)
    saved_wrapped = {
        f'module.{key}': value
        for key, value in source.state_dict().items()
    }
    target = nn.Linear(3, 2)
    apply_checkpoint(target, {'state_dict': saved_wrapped}, 'wrapped.pth')
    for key, value in source.state_dict().items():
        assert torch.equal(target.state_dict()[key], value)
    # Explicit revisions replace the default: no prefix is removed.
    with pytest.raises(CheckpointMismatchError,
                       match=r'^wrapped\.pth \(pretrained weights, 2 '
                       r'tensors\) does not fit the Linear'):
        apply_checkpoint(nn.Linear(3, 2), {'state_dict': saved_wrapped},
                         'wrapped.pth', revise_keys=())


def test_average_is_computed_in_float64_and_cast_like_the_reference():
    # 1 + 2**-11 is not a float16 value: a float16 sum would round it.
    first = {'w': torch.tensor([1.0, 3.0]), 'index': torch.arange(2)}
    second = {'w': torch.tensor([1.0 + 2**-10, 5.0]),
              'index': torch.arange(2)}
    like = {'index': torch.zeros(2, dtype=torch.long),
            'w': torch.zeros(2, dtype=torch.float16)}
    mean = average_state_dicts([first, second], like=like)
    assert list(mean) == ['index', 'w']
    assert mean['w'].dtype == torch.float16
    expected = torch.tensor([1.0 + 2**-11, 4.0],
                            dtype=torch.float64).to(torch.float16)
    assert torch.equal(mean['w'], expected)
    assert torch.equal(mean['index'], torch.arange(2))
    # Without ``like``: the first state's keys and dtypes.
    assert list(average_state_dicts([first, second])) == ['w', 'index']
    assert average_state_dicts([first, second])['w'].dtype == torch.float32


def test_an_integer_tensor_that_differs_is_not_averaged():
    with pytest.raises(ValueError, match=r'^index is a non-floating-point '
                       'tensor that differs between the state dicts'):
        average_state_dicts([{'index': torch.arange(2)},
                             {'index': torch.arange(1, 3)}])


def test_weight_average_is_the_shared_average():
    pretrained = {'a': torch.zeros(3, dtype=torch.float16),
                  'b': torch.zeros(2)}
    finetuned = [{'b': torch.randn(2), 'a': torch.randn(3)}
                 for _ in range(3)]
    merged = weight_average(pretrained, finetuned)
    assert list(merged) == ['a', 'b']
    for key, value in merged.items():
        stacked = torch.stack([state[key].double() for state in finetuned])
        assert value.dtype == pretrained[key].dtype
        assert torch.equal(value, stacked.mean(0).to(value.dtype))
