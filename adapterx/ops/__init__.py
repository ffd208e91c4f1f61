"""Point-cloud operators with compiled fast paths and pure-PyTorch
fallbacks."""
from .point_sampling import (furthest_point_sample, gather_points,
                             knn_indices, select_backend, triton_fps_failure)

__all__ = [
    'furthest_point_sample', 'gather_points', 'knn_indices', 'select_backend',
    'triton_fps_failure'
]
