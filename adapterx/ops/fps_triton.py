"""Furthest point sampling as one Triton kernel, for CUDA tensors where
pointnet2_ops is not installed.

The PyTorch path (:func:`adapterx.ops.furthest_point_sample`) launches
about ten small kernels for each of the ``num_samples`` sequential
choices; here one program per cloud keeps the cloud's coordinates and
distances in registers and makes all its choices in one launch.

It picks exactly the PyTorch path's indices: the same start (point 0),
the same rule for points near the origin (never chosen; point 0 when only
they are left), the first index among equal distances (``tl.argmax`` with
``tie_break_left`` as ``torch.argmax``), and distances rounded alike
(``(dx*dx + dy*dy) + dz*dz`` in that order, compiled without fused
multiply-adds, which would round differently from PyTorch's separate
multiplications and additions).
"""
import torch
import triton
import triton.language as tl
from torch import Tensor

# One program holds a whole cloud: four float32 vectors of this length
# (x, y, z, distance) must fit in the registers of one thread block.
MAX_POINTS = 8192


@triton.jit
def _furthest_point_sample_kernel(points_ptr, out_ptr, num_points,
                                  num_samples, min_squared_norm,
                                  BLOCK: tl.constexpr):
    cloud = tl.program_id(0).to(tl.int64)
    offsets = tl.arange(0, BLOCK)
    valid = offsets < num_points
    base = points_ptr + cloud * num_points * 3
    x = tl.load(base + offsets * 3, mask=valid, other=0.0)
    y = tl.load(base + offsets * 3 + 1, mask=valid, other=0.0)
    z = tl.load(base + offsets * 3 + 2, mask=valid, other=0.0)
    # Near-origin points sit at -1, below every squared distance, as in the
    # PyTorch path; the padding lanes sit below them.
    near_origin = (x * x + y * y) + z * z <= min_squared_norm
    distance = tl.where(near_origin, -1.0, float('inf'))
    distance = tl.where(valid, distance, float('-inf'))
    out = out_ptr + cloud * num_samples
    latest = tl.program_id(0) * 0  # point 0; out[0] is already 0
    for step in range(1, num_samples):
        latest_x = tl.load(base + latest * 3)
        latest_y = tl.load(base + latest * 3 + 1)
        latest_z = tl.load(base + latest * 3 + 2)
        dx = x - latest_x
        dy = y - latest_y
        dz = z - latest_z
        distance = tl.minimum(distance, (dx * dx + dy * dy) + dz * dz)
        latest = tl.argmax(distance, axis=0, tie_break_left=True)
        tl.store(out + step, latest.to(tl.int64))


def _num_warps(block: int) -> int:
    return 4 if block <= 1024 else 8 if block <= 4096 else 16


def furthest_point_sample(points: Tensor, num_samples: int,
                          min_squared_norm: float) -> Tensor:
    """(B, N, 3) points -> (B, num_samples) int64 indices; N at most
    :data:`MAX_POINTS`. Arguments are checked by the caller
    (:func:`adapterx.ops.furthest_point_sample`)."""
    batch_size, num_points, _ = points.shape
    if num_points > MAX_POINTS:
        raise ValueError(f'the Triton furthest point sampling holds at most '
                         f'{MAX_POINTS} points per cloud, got {num_points}')
    coordinates = points.float().contiguous()
    chosen = torch.zeros(batch_size, num_samples, dtype=torch.long,
                         device=points.device)
    block = max(16, triton.next_power_of_2(num_points))
    _furthest_point_sample_kernel[(batch_size, )](
        coordinates, chosen, num_points, num_samples, min_squared_norm,
        BLOCK=block, num_warps=_num_warps(block), enable_fp_fusion=False)
    return chosen
