"""FPS and kNN: the pure-PyTorch path against brute force, and the
compiled kernels against it where a GPU has them."""
import numpy as np
import pytest
import torch

from adapterx.ops import (furthest_point_sample, gather_points, knn_indices,
                          select_backend)


def brute_force_fps(points: np.ndarray, num_samples: int) -> list:
    """Greedy FPS written point by point, starting at index 0."""
    chosen = [0]
    for _ in range(num_samples - 1):
        distance = np.array([
            min(((point - points[c])**2).sum() for c in chosen)
            for point in points
        ])
        chosen.append(int(distance.argmax()))
    return chosen


def test_fps_matches_brute_force_on_every_cloud():
    points = torch.rand(3, 200, 3, dtype=torch.float64)
    indices = furthest_point_sample(points, 16, backend='torch')
    assert indices.shape == (3, 16) and indices.dtype == torch.long
    for cloud, chosen in zip(points.numpy(), indices.tolist()):
        assert chosen == brute_force_fps(cloud, 16)


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


def test_cpu_tensors_use_the_torch_path():
    assert select_backend(torch.rand(1, 4, 3), 'fps') == 'torch'
    assert select_backend(torch.rand(1, 4, 3), 'knn') == 'torch'


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a GPU')
def test_compiled_and_torch_paths_agree_on_gpu():
    points = torch.rand(4, 2048, 3, device='cuda')
    torch_fps = furthest_point_sample(points, 128, backend='torch')
    assert torch.equal(
        furthest_point_sample(points, 128), torch_fps)
    centres = gather_points(points, torch_fps)
    torch_knn = knn_indices(points, centres, 32, backend='torch')
    distance = torch.cdist(centres, points)
    torch.testing.assert_close(
        distance.gather(2, knn_indices(points, centres, 32)),
        distance.gather(2, torch_knn))
