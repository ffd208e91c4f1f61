"""The Triton furthest point sampling against the PyTorch path: the same
indices, in Triton's interpreter on a CPU and compiled on a GPU; and the
fallback to the PyTorch path when the kernel fails."""
import importlib.util
import os
import subprocess
import sys
import types
import warnings

import pytest
import torch

from adapterx.ops import (furthest_point_sample, point_sampling,
                          select_backend, triton_fps_failure)
from ..utils import REPO_ROOT

needs_triton = pytest.mark.skipif(
    importlib.util.find_spec('triton') is None, reason='needs Triton')


def hard_clouds(num_points, device='cpu'):
    """Clouds that exercise every rule: a point at the origin and one just
    inside the 1e-3 squared-norm limit (never centres), duplicated points
    (equal distances: the first index wins), a grid of integer points
    (many exact ties) and one cloud of only near-origin points but
    point 0."""
    generator = torch.Generator().manual_seed(num_points)
    clouds = torch.rand(4, num_points, 3, generator=generator) * 2 - 1
    clouds[0, 3] = 0
    clouds[0, 4] = 0.018
    clouds[1, 10:20] = clouds[1, 30]
    clouds[2] = torch.randint(-2, 3, (num_points, 3),
                              generator=generator).float()
    clouds[3] = 0
    clouds[3, 0] = 1
    return clouds.to(device)


def triton_and_torch(clouds, num_samples):
    return (furthest_point_sample(clouds, num_samples, backend='triton'),
            furthest_point_sample(clouds, num_samples, backend='torch'))


INTERPRETED = '''
import torch
from tests.ops.test_fps_triton import hard_clouds, triton_and_torch
for num_points, num_samples in ((200, 16), (37, 37), (1000, 64)):
    kernel, torch_path = triton_and_torch(hard_clouds(num_points), num_samples)
    assert kernel.dtype == torch.long, kernel.dtype
    assert torch.equal(kernel, torch_path), (num_points, kernel, torch_path)
print('same indices')
'''


@needs_triton
def test_kernel_picks_the_torch_paths_points_in_the_interpreter():
    # The interpreter checks the arithmetic and the rules; it breaks ties
    # to the first index whatever tie_break_left says, so only the GPU
    # test checks the kernel's tie-breaking.
    # TRITON_INTERPRET is read when the kernel is defined: a fresh process.
    completed = subprocess.run(
        [sys.executable, '-c', INTERPRETED], cwd=REPO_ROOT,
        env=dict(os.environ, TRITON_INTERPRET='1',
                 PYTHONPATH=os.pathsep.join(
                     filter(None, [str(REPO_ROOT),
                                   os.environ.get('PYTHONPATH')]))),
        capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert 'same indices' in completed.stdout


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a GPU')
@needs_triton
@pytest.mark.parametrize('num_points, num_samples',
                         [(2048, 128), (1000, 64), (37, 37), (8192, 512)])
def test_kernel_picks_the_torch_paths_points_on_gpu(num_points, num_samples):
    kernel, torch_path = triton_and_torch(hard_clouds(num_points, 'cuda'),
                                          num_samples)
    assert torch.equal(kernel, torch_path)
    # Without pointnet2_ops the model's grouping takes the kernel.
    if point_sampling._compiled('pointnet2_ops.pointnet2_utils') is None:
        assert select_backend(kernel.new_zeros(1, num_points, 3).float(),
                              'fps') == 'triton'
        assert triton_fps_failure() is None


def failing_kernel(*args):
    raise RuntimeError('PassManager::run failed\nmore detail')


@pytest.fixture
def triton_selected_but_failing(monkeypatch):
    monkeypatch.setattr(point_sampling, 'select_backend',
                        lambda points, op: 'triton')
    monkeypatch.setitem(
        point_sampling._COMPILED, 'adapterx.ops.fps_triton',
        types.SimpleNamespace(furthest_point_sample=failing_kernel,
                              MAX_POINTS=8192))
    monkeypatch.setattr(point_sampling, '_triton_fps_failure', None)


def test_a_failing_kernel_falls_back_to_torch_with_one_warning(
        triton_selected_but_failing):
    clouds = hard_clouds(50)
    with pytest.warns(UserWarning) as caught:
        chosen = furthest_point_sample(clouds, 8)
    assert len(caught) == 1
    message = str(caught[0].message)
    assert '\n' not in message
    assert message == (
        'Triton furthest point sampling disabled (its kernel failed: '
        'RuntimeError: PassManager::run failed); the PyTorch path runs '
        'instead (same points, slower)')
    assert torch.equal(chosen,
                       furthest_point_sample(clouds, 8, backend='torch'))
    assert triton_fps_failure() == (
        'its kernel failed: RuntimeError: PassManager::run failed')
    # Asked for by name, the kernel's error is not hidden.
    with pytest.raises(RuntimeError, match='PassManager'):
        furthest_point_sample(clouds, 8, backend='triton')


def test_a_kernel_that_fails_to_import_is_disabled_once(monkeypatch):
    monkeypatch.setattr(point_sampling, '_triton_fps_failure', None)
    monkeypatch.delitem(point_sampling._COMPILED, 'adapterx.ops.fps_triton',
                        raising=False)
    monkeypatch.delitem(point_sampling._COMPILED,
                        'pointnet2_ops.pointnet2_utils', raising=False)

    def import_module(name):
        if name == 'adapterx.ops.fps_triton':
            raise AttributeError("module 'triton.language' has no attribute "
                                 "'argmax'")
        raise ImportError(name)

    monkeypatch.setattr(point_sampling.importlib, 'import_module',
                        import_module)
    on_cuda = types.SimpleNamespace(is_cuda=True, shape=(1, 2048, 3))
    with pytest.warns(UserWarning, match='importing adapterx.ops.fps_triton '
                      'failed: AttributeError'):
        assert select_backend(on_cuda, 'fps') == 'torch'
    with warnings.catch_warnings():
        warnings.simplefilter('error')  # no second warning
        assert select_backend(on_cuda, 'fps') == 'torch'
    assert triton_fps_failure().startswith('importing')
