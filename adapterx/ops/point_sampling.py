"""Furthest point sampling and k-nearest neighbours, batched.

On a CUDA tensor the compiled kernels the Point-BERT / Point-MAE code uses
are taken when they are importable: ``pointnet2_ops`` for furthest point
sampling and ``knn_cuda`` for kNN. Without ``pointnet2_ops``, furthest
point sampling on a CUDA tensor runs this package's Triton kernel
(:mod:`adapterx.ops.fps_triton`) where Triton is installed; it picks the
same points as the PyTorch path, and should it fail to compile, a warning
says so and the PyTorch path takes over. Everywhere else (CPU, CI, a GPU
without those packages) an equivalent pure-PyTorch implementation runs,
batched on the tensor's device; its only Python loop is FPS's sequential
choice of one point per step.
"""
import importlib
import warnings
from typing import Optional

import torch
from torch import Tensor

_COMPILED = {}
# pointnet2_ops' furthest point sampling skips points of squared norm at
# most this (an undocumented rule of its CUDA kernel).
_KERNEL_MIN_SQUARED_NORM = 1e-3
_TRITON_FPS = 'adapterx.ops.fps_triton'
# Why the Triton kernel is not used although Triton imports (it failed to
# import or to run once); None while it serves.
_triton_fps_failure = None


def _compiled(module_name: str):
    """The compiled module if importable (cached), else None."""
    if module_name not in _COMPILED:
        try:
            _COMPILED[module_name] = importlib.import_module(module_name)
        except ImportError:
            _COMPILED[module_name] = None
        except Exception as error:  # e.g. a Triton too old for the kernel
            _COMPILED[module_name] = None
            _disable_triton_fps(f'importing {module_name} failed', error)
    return _COMPILED[module_name]


def _disable_triton_fps(what: str, error: Exception) -> None:
    global _triton_fps_failure
    first_line = (str(error).strip().splitlines() or [''])[0]
    _triton_fps_failure = f'{what}: {type(error).__name__}: {first_line}'
    warnings.warn(
        f'Triton furthest point sampling disabled ({_triton_fps_failure}); '
        'the PyTorch path runs instead (same points, slower)',
        stacklevel=3)


def triton_fps_failure() -> Optional[str]:
    """Why the Triton furthest point sampling is disabled in this process
    (it failed to import or to run), or None."""
    return _triton_fps_failure


def select_backend(points: Tensor, op: str) -> str:
    """The implementation of ``op`` (``'fps'`` or ``'knn'``) that serves
    ``points``: ``'compiled'`` where the installed CUDA kernel does,
    ``'triton'`` for furthest point sampling of up to
    :data:`adapterx.ops.fps_triton.MAX_POINTS` points on a GPU without
    one, else ``'torch'``."""
    module_name = {'fps': 'pointnet2_ops.pointnet2_utils',
                   'knn': 'knn_cuda'}[op]
    if not points.is_cuda:
        return 'torch'
    if _compiled(module_name) is not None:
        return 'compiled'
    if op == 'fps' and _triton_fps_failure is None:
        triton_fps = _compiled(_TRITON_FPS)
        if (triton_fps is not None
                and points.shape[1] <= triton_fps.MAX_POINTS):
            return 'triton'
    return 'torch'


def _check_points(points: Tensor, name: str) -> None:
    if points.dim() != 3 or points.shape[-1] != 3:
        raise ValueError(
            f'{name} must be (B, N, 3) coordinates, got {tuple(points.shape)}')


def furthest_point_sample(points: Tensor,
                          num_samples: int,
                          backend: Optional[str] = None) -> Tensor:
    """Indices of ``num_samples`` points chosen by furthest point sampling.

    Starts from point 0 of every cloud and repeatedly takes the point
    furthest from those chosen so far, with the rules of pointnet2_ops'
    kernel, which the official Point-BERT / Point-MAE code runs: a point
    within ``sqrt(1e-3)`` of the origin (squared norm <= 1e-3) is never
    chosen after the first step, and when no other point is left the
    kernel's default, point 0, is taken. Both paths thus pick the same
    centres, also for centred clouds with a point at the origin.

    Args:
        points (Tensor): (B, N, 3) coordinates.
        num_samples (int): Points to choose, at most N.
        backend (str, optional): ``'torch'``, ``'compiled'`` or
            ``'triton'``; chosen by :func:`select_backend` when None.

    Returns:
        Tensor: (B, num_samples) int64 indices into N.
    """
    _check_points(points, 'points')
    num_points = points.shape[1]
    if not 0 < num_samples <= num_points:
        raise ValueError(f'cannot sample {num_samples} of {num_points} '
                         'points by furthest point sampling')
    chosen_backend = backend or select_backend(points, 'fps')
    if chosen_backend == 'compiled':
        kernels = _compiled('pointnet2_ops.pointnet2_utils')
        return kernels.furthest_point_sample(points.float().contiguous(),
                                             num_samples).long()
    if chosen_backend == 'triton':
        try:
            return _compiled(_TRITON_FPS).furthest_point_sample(
                points, num_samples, _KERNEL_MIN_SQUARED_NORM)
        except Exception as error:
            if backend is not None:  # asked for by name: no substitute
                raise
            _disable_triton_fps('its kernel failed', error)
    return _torch_furthest_point_sample(points, num_samples)


def _squared_length(vectors: Tensor) -> Tensor:
    """``(x*x + y*y) + z*z`` of (..., 3) vectors, summed in this order as
    the Triton kernel does, so that both round alike and pick the same
    points."""
    x, y, z = vectors.unbind(-1)
    return (x * x + y * y) + z * z


def _torch_furthest_point_sample(points: Tensor, num_samples: int) -> Tensor:
    batch_size, num_points, _ = points.shape
    coordinates = points.float()
    chosen = torch.zeros(
        batch_size, num_samples, dtype=torch.long, device=points.device)
    distance_to_chosen = torch.full((batch_size, num_points),
                                    float('inf'),
                                    device=points.device)
    # -1 stays below every squared distance (the minimum keeps it): argmax
    # passes these points over, and picks point 0 when only they remain.
    near_origin = _squared_length(coordinates) <= _KERNEL_MIN_SQUARED_NORM
    distance_to_chosen[near_origin] = -1
    batch_index = torch.arange(batch_size, device=points.device)
    latest = torch.zeros(batch_size, dtype=torch.long, device=points.device)
    for step in range(1, num_samples):
        latest_point = coordinates[batch_index, latest].unsqueeze(1)
        distance = _squared_length(coordinates - latest_point)
        distance_to_chosen = torch.minimum(distance_to_chosen, distance)
        latest = distance_to_chosen.argmax(dim=1)
        chosen[:, step] = latest
    return chosen


def knn_indices(reference: Tensor,
                query: Tensor,
                k: int,
                backend: Optional[str] = None) -> Tensor:
    """Indices of the ``k`` reference points nearest to each query point,
    nearest first.

    Args:
        reference (Tensor): (B, N, 3) points searched.
        query (Tensor): (B, M, 3) points whose neighbours are wanted.
        k (int): Neighbours per query point, at most N.
        backend (str, optional): as for :func:`furthest_point_sample`.

    Returns:
        Tensor: (B, M, k) int64 indices into N.
    """
    _check_points(reference, 'reference')
    _check_points(query, 'query')
    if reference.shape[0] != query.shape[0]:
        raise ValueError(f'reference batch {reference.shape[0]} != query '
                         f'batch {query.shape[0]}')
    if not 0 < k <= reference.shape[1]:
        raise ValueError(
            f'cannot take {k} neighbours among {reference.shape[1]} points')
    backend = backend or select_backend(reference, 'knn')
    if backend == 'compiled':
        knn = _compiled('knn_cuda').KNN(k=k, transpose_mode=True)
        _, indices = knn(reference.float().contiguous(),
                         query.float().contiguous())
        return indices.long()
    # Squared distances by expansion: one (B, M, N) matmul instead of a
    # (B, M, N, 3) difference tensor.
    reference = reference.float()
    query = query.float()
    squared = ((query**2).sum(-1, keepdim=True) -
               2 * query @ reference.transpose(1, 2) +
               (reference**2).sum(-1).unsqueeze(1))
    return squared.topk(k, dim=-1, largest=False, sorted=True).indices


def gather_points(points: Tensor, indices: Tensor) -> Tensor:
    """``points[b, indices[b, ...]]`` for every cloud b.

    Args:
        points (Tensor): (B, N, C).
        indices (Tensor): (B, ...) int64 indices into N.

    Returns:
        Tensor: (B, ..., C).
    """
    batch_size = points.shape[0]
    flat = indices.reshape(batch_size, -1)
    gathered = points.gather(
        1,
        flat.unsqueeze(-1).expand(-1, -1, points.shape[-1]))
    return gathered.reshape(*indices.shape, points.shape[-1])
