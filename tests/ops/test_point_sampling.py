"""FPS and kNN: the pure-PyTorch path against brute force, and the
compiled kernels against it where a GPU has them."""
import types

import numpy as np
import pytest
import torch

from adapterx.ops import (furthest_point_sample, gather_points, knn_indices,
                          point_sampling, select_backend)


def brute_force_fps(points: np.ndarray, num_samples: int) -> list:
    """Greedy FPS written point by point, starting at index 0, with the
    rules of pointnet2_ops' CUDA kernel: points of squared norm <= 1e-3 are
    never candidates, and point 0 is the answer when no candidate is left."""
    candidates = [i for i, point in enumerate(points)
                  if (point**2).sum() > 1e-3]
    chosen = [0]
    for _ in range(num_samples - 1):
        best, best_distance = 0, -1.0
        for i in candidates:
            distance = min(((points[i] - points[c])**2).sum() for c in chosen)
            if distance > best_distance:
                best, best_distance = i, distance
        chosen.append(best)
    return chosen


def test_fps_matches_brute_force_on_every_cloud():
    points = torch.rand(3, 200, 3, dtype=torch.float64)
    indices = furthest_point_sample(points, 16, backend='torch')
    assert indices.shape == (3, 16) and indices.dtype == torch.long
    for cloud, chosen in zip(points.numpy(), indices.tolist()):
        assert chosen == brute_force_fps(cloud, 16)


def test_fps_passes_over_points_at_the_origin_as_the_cuda_kernel_does():
    # Point 3 at the origin is the furthest from point 0, so plain FPS
    # would take it second; pointnet2_ops never takes it (nor point 4,
    # just inside its 1e-3 squared-norm threshold).
    points = torch.tensor([[[5., 5, 5], [1, 1, 1], [4, 4, 4], [0, 0, 0],
                            [0.018, 0.018, 0.018], [2.5, 2.5, 2.5]]],
                          dtype=torch.float64)
    indices = furthest_point_sample(points, 5, backend='torch')[0].tolist()
    assert indices == brute_force_fps(points[0].numpy(), 5) == [0, 1, 5, 2, 0]
    # Only such points left: the kernel's default, point 0.
    at_origin = torch.zeros(1, 4, 3)
    at_origin[0, 0] = 1.0
    assert furthest_point_sample(at_origin, 3).tolist() == [[0, 0, 0]]


def test_fps_spreads_over_separate_clusters():
    # Four tight clusters far apart: four samples must hit all four.
    centres = torch.tensor([[0., 0, 0], [10, 0, 0], [0, 10, 0], [0, 0, 10]])
    points = (centres.repeat_interleave(50, 0) +
              0.01 * torch.randn(200, 3)).unsqueeze(0)
    indices = furthest_point_sample(points, 4)[0]
    assert sorted((indices // 50).tolist()) == [0, 1, 2, 3]


def test_knn_matches_brute_force_sorted_distances():
    reference = torch.rand(2, 300, 3)
    query = torch.rand(2, 20, 3)
    indices = knn_indices(reference, query, 8, backend='torch')
    assert indices.shape == (2, 20, 8)
    for b in range(2):
        distance = torch.cdist(query[b].double(), reference[b].double())
        expected = distance.argsort(dim=1)[:, :8]
        # Equal as sets of distances (ties aside, the same points) and
        # nearest first.
        got = distance.gather(1, indices[b])
        torch.testing.assert_close(got, distance.gather(1, expected))
        assert bool((got[:, 1:] >= got[:, :-1]).all())


def test_gather_points_indexes_each_cloud_separately():
    points = torch.arange(2 * 5 * 3, dtype=torch.float32).reshape(2, 5, 3)
    indices = torch.tensor([[[4, 0]], [[1, 1]]])
    gathered = gather_points(points, indices)
    assert gathered.shape == (2, 1, 2, 3)
    assert torch.equal(gathered[0, 0, 0], points[0, 4])
    assert torch.equal(gathered[1, 0, 1], points[1, 1])


@pytest.mark.parametrize('call, message', [
    (lambda: furthest_point_sample(torch.rand(1, 10, 3), 11), 'cannot sample'),
    (lambda: furthest_point_sample(torch.rand(10, 3), 4), '(B, N, 3)'),
    (lambda: knn_indices(torch.rand(1, 10, 3), torch.rand(2, 4, 3), 2),
     'batch'),
    (lambda: knn_indices(torch.rand(1, 10, 3), torch.rand(1, 4, 3), 11),
     'neighbours'),
])
def test_bad_arguments_are_named(call, message):
    with pytest.raises(ValueError, match=message.replace('(', r'\(').replace(
            ')', r'\)')):
        call()


class FakeKNN:
    """knn_cuda's interface: ``KNN(k, transpose_mode=True)(reference,
    query)`` returns (distances, indices), both (B, M, k), nearest first."""

    def __init__(self, k, transpose_mode):
        assert transpose_mode
        self.k = k

    def __call__(self, reference, query):
        return torch.cdist(query, reference).topk(self.k, largest=False)


def fake_fps(points, num_samples):
    """pointnet2_ops' interface: int32 indices of a float32 cloud."""
    assert points.dtype == torch.float32 and points.is_contiguous()
    return furthest_point_sample(points, num_samples,
                                 backend='torch').to(torch.int32)


@pytest.fixture
def compiled_modules(monkeypatch):
    """Stand-ins for pointnet2_ops and knn_cuda, as if installed."""
    monkeypatch.setitem(point_sampling._COMPILED,
                        'pointnet2_ops.pointnet2_utils',
                        types.SimpleNamespace(furthest_point_sample=fake_fps))
    monkeypatch.setitem(point_sampling._COMPILED, 'knn_cuda',
                        types.SimpleNamespace(KNN=FakeKNN))


def test_compiled_path_only_for_cuda_tensors_with_the_kernels_installed(
        monkeypatch):
    on_cuda = types.SimpleNamespace(is_cuda=True, shape=(1, 4, 3))
    # Without Triton (test_fps_triton.py covers it with).
    monkeypatch.setitem(point_sampling._COMPILED, 'adapterx.ops.fps_triton',
                        None)
    # Not installed here: importing them fails, so even CUDA tensors fall
    # back to the torch path.
    for op, module in (('fps', 'pointnet2_ops.pointnet2_utils'),
                       ('knn', 'knn_cuda')):
        monkeypatch.delitem(point_sampling._COMPILED, module, raising=False)
        assert select_backend(on_cuda, op) == 'torch'
        assert point_sampling._COMPILED[module] is None
        assert select_backend(torch.rand(1, 4, 3), op) == 'torch'
        monkeypatch.setitem(point_sampling._COMPILED, module, object())
        assert select_backend(on_cuda, op) == 'compiled'
        assert select_backend(torch.rand(1, 4, 3), op) == 'torch'


def test_compiled_calls_follow_the_kernels_conventions(compiled_modules):
    points = torch.rand(2, 300, 3, dtype=torch.float64)
    torch_fps = furthest_point_sample(points, 16, backend='torch')
    compiled_fps = furthest_point_sample(points, 16, backend='compiled')
    assert compiled_fps.dtype == torch.long
    assert torch.equal(compiled_fps, torch_fps)
    centres = gather_points(points, torch_fps).float()
    # knn_cuda takes the searched points first, the queries second.
    assert torch.equal(
        knn_indices(points, centres, 8, backend='compiled'),
        knn_indices(points, centres, 8, backend='torch'))


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a GPU')
def test_compiled_and_torch_paths_agree_on_gpu():
    points = torch.rand(4, 2048, 3, device='cuda')
    points[:, 7] = 0  # a corner the kernel never takes
    torch_fps = furthest_point_sample(points, 128, backend='torch')
    assert torch.equal(
        furthest_point_sample(points, 128), torch_fps)
    centres = gather_points(points, torch_fps)
    torch_knn = knn_indices(points, centres, 32, backend='torch')
    distance = torch.cdist(centres, points)
    torch.testing.assert_close(
        distance.gather(2, knn_indices(points, centres, 32)),
        distance.gather(2, torch_knn))
