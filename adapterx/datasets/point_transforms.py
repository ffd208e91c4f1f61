"""Point-cloud transforms of the Point-BERT / Point-MAE protocols.

They read and write ``results['points']``, an (N, C) array whose first
three columns are x, y, z. With C == 6 the last three are normals, which
the geometric transforms keep perpendicular to the surface; other extra
columns are carried along unchanged.

Random draws come from NumPy's global generator (``np.random``), the one
the runner seeds: ``EpochSeedHook`` in the main process at every epoch,
mmengine's ``worker_init_fn`` in each DataLoader worker when it starts.
"""
import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmpretrain.datasets.transforms import PackInputs

from adapterx.ops import furthest_point_sample
from adapterx.registry import TRANSFORMS

_AXES = {'x': 0, 'y': 1, 'z': 2}
_NORMALS_CHANNELS = 6


def _points_of(results, transform):
    points = results['points']
    if not isinstance(points, np.ndarray) or points.ndim != 2 or \
            points.shape[1] < 3:
        shape = getattr(points, 'shape', type(points).__name__)
        raise ValueError(f"{type(transform).__name__} needs results['points'] "
                         f'as an (N, C >= 3) array, got {shape}.')
    return points


def _map_xyz(points, matrix, offset=0.0):
    """``points`` with x, y, z mapped to ``matrix @ xyz + offset`` and the
    normals (C == 6) to the inverse transpose of ``matrix``, renormalised:
    a normal stays perpendicular to the surface under any linear map."""
    mapped = points.astype(np.float32, copy=True)
    mapped[:, :3] = points[:, :3] @ matrix.T + offset
    if points.shape[1] == _NORMALS_CHANNELS:
        normals = points[:, 3:] @ np.linalg.inv(matrix)
        length = np.linalg.norm(normals, axis=1, keepdims=True)
        mapped[:, 3:] = normals / np.maximum(length, np.finfo(np.float32).tiny)
    return mapped


class _PointTransform(BaseTransform):
    """A transform whose repr shows its arguments (kept as attributes of
    the same names), as a dataset prints its pipeline."""

    def __repr__(self):
        arguments = ', '.join(f'{name}={value!r}'
                              for name, value in vars(self).items())
        return f'{type(self).__name__}({arguments})'


def rotation_matrix(axis, angle):
    """The 3x3 matrix of a rotation by ``angle`` (radians, right-handed)
    about the coordinate axis ``'x'``, ``'y'`` or ``'z'``."""
    unit = np.eye(3)[_AXES[axis]]
    # Rodrigues' formula; np.cross(I, unit) is the matrix of unit x (.).
    return (np.cos(angle) * np.eye(3) +
            np.sin(angle) * np.cross(np.eye(3), unit) +
            (1 - np.cos(angle)) * np.outer(unit, unit))


@TRANSFORMS.register_module()
class NormalizePoints(_PointTransform):
    """Centre x, y, z at their mean and scale them so that the furthest
    point lies on the unit sphere (Point-BERT's ``pc_normalize``)."""

    def transform(self, results):
        points = _points_of(results, self).astype(np.float32, copy=True)
        centred = points[:, :3] - points[:, :3].mean(axis=0)
        radius = np.linalg.norm(centred, axis=1).max()
        points[:, :3] = centred / radius if radius > 0 else centred
        results['points'] = points
        return results


@TRANSFORMS.register_module()
class RandomScaleTranslate(_PointTransform):
    """Scale each axis by its own factor and translate (Point-MAE's
    ``PointcloudScaleAndTranslate``, its training augmentation).

    Args:
        scale_range (tuple[float, float]): The factor of each axis is drawn
            uniformly from this range.
        translate_range (float): The shift of each axis is drawn uniformly
            from ``[-translate_range, translate_range]``.
    """

    def __init__(self, scale_range=(2 / 3, 3 / 2), translate_range=0.2):
        self.scale_range = tuple(scale_range)
        self.translate_range = translate_range

    def transform(self, results):
        points = _points_of(results, self)
        scale = np.random.uniform(*self.scale_range, size=3)
        shift = np.random.uniform(-self.translate_range,
                                  self.translate_range, size=3)
        results['points'] = _map_xyz(points, np.diag(scale), shift)
        return results


@TRANSFORMS.register_module()
class RandomRotatePoints(_PointTransform):
    """Rotate by a random angle about one coordinate axis: the training
    augmentation of the rotation protocol (ReCon, IDPT, DAPT, Point-PEFT on
    ScanObjectNN), a rotation about the up axis ``'y'``.

    Args:
        axis (str): ``'x'``, ``'y'`` or ``'z'``.
        angle_range (tuple[float, float]): The angle, in radians, is drawn
            uniformly from this range.
    """

    def __init__(self, axis='y', angle_range=(0, 2 * np.pi)):
        if axis not in _AXES:
            raise ValueError(f"axis must be 'x', 'y' or 'z', got {axis!r}")
        self.axis = axis
        self.angle_range = tuple(angle_range)

    def transform(self, results):
        points = _points_of(results, self)
        angle = np.random.uniform(*self.angle_range)
        results['points'] = _map_xyz(points, rotation_matrix(self.axis, angle))
        return results


@TRANSFORMS.register_module()
class RandomPointDropout(_PointTransform):
    """Drop a random share of the points, at most ``max_dropout_ratio``, by
    overwriting them with the first point (PointNet++'s input dropout): the
    cloud keeps its N points, so clouds still batch.

    Args:
        max_dropout_ratio (float): The share dropped is drawn uniformly
            from ``[0, max_dropout_ratio)``; each point is then dropped
            with that probability.
    """

    def __init__(self, max_dropout_ratio=0.875):
        if not 0 <= max_dropout_ratio < 1:
            raise ValueError('max_dropout_ratio must be in [0, 1), got '
                             f'{max_dropout_ratio}')
        self.max_dropout_ratio = max_dropout_ratio

    def transform(self, results):
        points = _points_of(results, self).copy()
        ratio = np.random.uniform(0, self.max_dropout_ratio)
        dropped = np.random.random_sample(len(points)) < ratio
        points[dropped] = points[0]
        results['points'] = points
        return results


@TRANSFORMS.register_module()
class ShufflePoints(_PointTransform):
    """Put the points in a random order. Furthest point sampling starts
    from the first point, so a shuffle before it varies the sample (as
    Point-MAE's training sets shuffle every cloud)."""

    def transform(self, results):
        points = _points_of(results, self)
        results['points'] = points[np.random.permutation(len(points))]
        return results


@TRANSFORMS.register_module()
class ResamplePoints(_PointTransform):
    """Choose ``num_points`` of a cloud's points.

    Methods:

    - ``'fps'``: furthest point sampling from the first point
      (``adapterx.ops.furthest_point_sample``); the chosen points come in
      the order they were chosen. With ``oversample``, furthest point
      sampling chooses ``oversample`` points (or all, if the cloud has
      fewer) and a random ``num_points`` of them are kept, in random order:
      Point-MAE's training resampling (1200 then 1024).
    - ``'random'``: a random ``num_points`` without replacement, in random
      order (with N == ``num_points``, a shuffle).
    - ``'first'``: the first ``num_points``.

    A cloud with fewer than ``num_points`` points keeps all of them, in
    order, and is filled up with points drawn at random with replacement
    from it, whatever the method.

    Args:
        num_points (int): Points to keep.
        method (str): ``'fps'``, ``'random'`` or ``'first'``.
        oversample (int, optional): With ``'fps'`` only: how many points
            furthest point sampling chooses before the random subset; at
            least ``num_points``.
    """

    METHODS = ('fps', 'random', 'first')

    def __init__(self, num_points, method='fps', oversample=None):
        if method not in self.METHODS:
            raise ValueError(f'method must be one of {self.METHODS}, got '
                             f'{method!r}')
        if num_points < 1:
            raise ValueError(f'num_points must be positive, got {num_points}')
        if oversample is not None and (method != 'fps'
                                       or oversample < num_points):
            raise ValueError(
                f'oversample={oversample} needs method="fps" and at least '
                f'num_points={num_points} points')
        self.num_points = num_points
        self.method = method
        self.oversample = oversample

    def transform(self, results):
        points = _points_of(results, self)
        results['points'] = points[self._indices(points)]
        return results

    def _indices(self, points):
        available = len(points)
        if available < self.num_points:
            fill = np.random.choice(available, self.num_points - available)
            return np.concatenate([np.arange(available), fill])
        if self.method == 'first':
            return np.arange(self.num_points)
        if self.method == 'random':
            return np.random.choice(available, self.num_points, replace=False)
        sampled = min(self.oversample or self.num_points, available)
        xyz = torch.from_numpy(np.ascontiguousarray(points[:, :3],
                                                    dtype=np.float32))
        chosen = furthest_point_sample(xyz[None], sampled)[0].numpy()
        if self.oversample is None:
            return chosen
        return chosen[np.random.choice(sampled, self.num_points,
                                       replace=False)]


@TRANSFORMS.register_module()
class PackPointInputs(PackInputs):
    """mmpretrain's ``PackInputs`` for point clouds: ``inputs`` is the
    (N, C) float32 tensor of ``results['points']`` (not permuted as an
    image would be) and ``data_samples`` a ``DataSample`` with ``gt_label``,
    the ``algorithm_keys`` and the ``meta_keys`` present in ``results``.
    """

    DEFAULT_META_KEYS = ('sample_idx', )

    def __init__(self, input_key='points', algorithm_keys=(),
                 meta_keys=DEFAULT_META_KEYS):
        super().__init__(input_key, algorithm_keys, meta_keys)

    @staticmethod
    def format_input(input_):
        if isinstance(input_, np.ndarray):
            input_ = torch.from_numpy(
                np.ascontiguousarray(input_, dtype=np.float32))
        elif not isinstance(input_, torch.Tensor):
            raise TypeError(
                f'PackPointInputs packs an (N, C) array or tensor, got '
                f'{type(input_).__name__}.')
        if input_.dim() != 2:
            raise ValueError('PackPointInputs packs an (N, C) array or '
                             f'tensor, got shape {tuple(input_.shape)}.')
        return input_.float()
