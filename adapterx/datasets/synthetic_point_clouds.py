"""Point clouds of primitive shapes, generated on the fly: the data of the
3D demo, which needs no download and trains in minutes on a CPU.

Each cloud samples the surface of one shape (a solid disc for ``disc``),
then stretches each axis by its own random factor, rotates it uniformly at
random, scales it, adds Gaussian noise, and centres and scales it into the
unit sphere. Stretches and noise blur the classes into one another
(a stretched cylinder next to a capsule, a flattened cone next to a disc),
so that a small model learns them well but not perfectly.
"""
import numpy as np
from mmpretrain.datasets import BaseDataset

from adapterx.registry import DATASETS
from .point_cloud_files import FewestPoints

POINT_CLOUD_SHAPES = ('sphere', 'cube', 'cylinder', 'cone', 'torus', 'disc',
                      'pyramid', 'capsule')

SYNTHETIC_SPLITS = ('train', 'test')

# Per-axis stretch factors are drawn from [1 - s, 1 + s].
_STRETCH = 0.35
# Overall scale, before noise: the noise's share of the shape varies.
_SCALE_RANGE = (0.6, 1.4)
_TORUS_RADII = (1.0, 0.35)
_CAPSULE_RADIUS = 0.5


def _angles(rng, shape):
    return rng.uniform(0, 2 * np.pi, shape)


def _circle(rng, shape):
    """(cos, sin) of uniformly random angles, as a (..., 2) array."""
    angle = _angles(rng, shape)
    return np.stack([np.cos(angle), np.sin(angle)], axis=-1)


def _sphere(rng, shape):
    directions = rng.normal(size=(*shape, 3))
    return directions / np.linalg.norm(directions, axis=-1, keepdims=True)


def _cube(rng, shape):
    """The surface of [-1, 1]^3: one coordinate of each point is set to
    +-1 (its face), the other two stay uniform."""
    points = rng.uniform(-1, 1, (*shape, 3))
    face_axis = rng.integers(0, 3, shape)[..., None]
    face_side = rng.choice([-1.0, 1.0], shape)[..., None]
    np.put_along_axis(points, face_axis, face_side, axis=-1)
    return points


def _solid_disc(rng, shape, height=0.0):
    """Uniform on the unit disc at z = ``height`` (a number, or one per
    point as a (..., 1) array)."""
    radius = np.sqrt(rng.uniform(0, 1, shape))[..., None]
    xy = radius * _circle(rng, shape)
    return np.concatenate([xy, np.full((*shape, 1), height)], axis=-1)


def _choose(rng, shape, share, first, second):
    """``first`` where a uniform draw is below ``share``, else
    ``second``: mixes two surfaces in proportion to their areas."""
    return np.where(rng.uniform(0, 1, shape)[..., None] < share, first, second)


def _cylinder(rng, shape):
    """Radius 1, z in [-1, 1], with both caps (2/3 of the area is the
    side)."""
    side = np.concatenate(
        [_circle(rng, shape), rng.uniform(-1, 1, (*shape, 1))], axis=-1)
    caps = _solid_disc(rng, shape,
                       height=rng.choice([-1.0, 1.0], (*shape, 1)))
    return _choose(rng, shape, 2 / 3, side, caps)


def _cone(rng, shape):
    """Apex at z = 1, base of radius 1 at z = -1, with the base disc."""
    # The side's area grows linearly with the distance from the apex.
    from_apex = np.sqrt(rng.uniform(0, 1, shape))[..., None]
    side = np.concatenate(
        [from_apex * _circle(rng, shape), 1 - 2 * from_apex], axis=-1)
    slant = np.sqrt(5.0)
    return _choose(rng, shape, slant / (slant + 1), side,
                   _solid_disc(rng, shape, height=-1.0))


def _torus(rng, shape):
    """Uniform in the two angles (denser on the inner side)."""
    major, minor = _TORUS_RADII
    around_tube = _circle(rng, shape)
    ring = _circle(rng, shape)
    distance = major + minor * around_tube[..., :1]
    return np.concatenate([distance * ring, minor * around_tube[..., 1:]],
                          axis=-1)


def _pyramid(rng, shape):
    """Square base [-1, 1]^2 at z = -1, apex (0, 0, 1): six triangles (the
    base as two), chosen in proportion to their areas."""
    apex, corners = [0, 0, 1], [[-1, -1, -1], [1, -1, -1], [1, 1, -1],
                                [-1, 1, -1]]
    triangles = np.array(
        [[corners[0], corners[1], corners[2]],
         [corners[0], corners[2], corners[3]]] +
        [[corners[i], corners[(i + 1) % 4], apex] for i in range(4)],
        dtype=np.float64)
    areas = 0.5 * np.linalg.norm(
        np.cross(triangles[:, 1] - triangles[:, 0],
                 triangles[:, 2] - triangles[:, 0]), axis=-1)
    chosen = triangles[rng.choice(len(triangles), shape,
                                  p=areas / areas.sum())]
    # Uniform barycentric coordinates by the square-root trick.
    root = np.sqrt(rng.uniform(0, 1, shape))[..., None]
    along = rng.uniform(0, 1, shape)[..., None]
    return ((1 - root) * chosen[..., 0, :] + root * (1 - along) *
            chosen[..., 1, :] + root * along * chosen[..., 2, :])


def _capsule(rng, shape):
    """A cylinder of radius 1/2 and z in [-1, 1] closed by half spheres."""
    radius = _CAPSULE_RADIUS
    side = np.concatenate([
        radius * _circle(rng, shape),
        rng.uniform(-1, 1, (*shape, 1))
    ], axis=-1)
    ends = radius * _sphere(rng, shape)
    ends[..., 2] += np.sign(ends[..., 2])
    side_area, ends_area = 2 * np.pi * radius * 2, 4 * np.pi * radius**2
    return _choose(rng, shape, side_area / (side_area + ends_area), side,
                   ends)


# Shape -> sampler(rng, shape) of (*shape, 3) points on the shape, of size
# about 2 and centred near the origin, before any stretch or noise.
SURFACE_SAMPLERS = {
    'sphere': _sphere,
    'cube': _cube,
    'cylinder': _cylinder,
    'cone': _cone,
    'torus': _torus,
    'disc': _solid_disc,
    'pyramid': _pyramid,
    'capsule': _capsule,
}


def random_rotations(rng, count):
    """``count`` rotation matrices, uniform over SO(3): the Q of a Gaussian
    matrix's QR decomposition with R's diagonal made positive, one column
    flipped where the determinant is -1."""
    q, r = np.linalg.qr(rng.normal(size=(count, 3, 3)))
    q = q * np.sign(np.diagonal(r, axis1=1, axis2=2))[:, None, :]
    q[np.linalg.det(q) < 0, :, 0] *= -1
    return q


def generate_point_clouds(shape, count, num_points, noise, rng):
    """``count`` clouds of ``shape`` (a key of ``POINT_CLOUD_SHAPES``),
    (count, num_points, 3) float32, each centred with its furthest point on
    the unit sphere."""
    points = SURFACE_SAMPLERS[shape](rng, (count, num_points))
    stretch = rng.uniform(1 - _STRETCH, 1 + _STRETCH, (count, 1, 3))
    scale = rng.uniform(*_SCALE_RANGE, (count, 1, 1))
    points = (points * stretch) @ random_rotations(rng, count).transpose(
        0, 2, 1) * scale
    points = points + rng.normal(0, noise, points.shape)
    points = points - points.mean(axis=1, keepdims=True)
    radius = np.linalg.norm(points, axis=-1).max(axis=1)[:, None, None]
    return (points / radius).astype(np.float32)


@DATASETS.register_module()
class SyntheticPointClouds(BaseDataset):
    """Clouds of primitive shapes (see the module docstring), the same
    number of each class (up to one more for the first classes when
    ``num_samples`` is not a multiple of ``num_classes``).

    The clouds depend on ``seed`` and ``split`` only: the two splits draw
    from different streams of the same seed, so train and test never share
    a cloud.

    Args:
        num_samples (int): Clouds in the split.
        num_points (int): Points per cloud.
        num_classes (int): The first ``num_classes`` shapes of
            ``POINT_CLOUD_SHAPES`` (2 to 8).
        noise (float): Standard deviation of the Gaussian noise added to
            every coordinate, relative to a shape of unit size.
        seed (int): Generator seed.
        split (str): ``'train'`` or ``'test'``.
        pipeline (Sequence): Transforms; the samples hold ``points``,
            float32 (num_points, 3), and ``gt_label``.
        **kwargs: Other arguments of mmpretrain's ``BaseDataset``.
    """

    def __init__(self, num_samples, num_points=1024, num_classes=8,
                 noise=0.02, seed=0, split='train', pipeline=(),
                 metainfo=None, **kwargs):
        if not 2 <= num_classes <= len(POINT_CLOUD_SHAPES):
            raise ValueError(f'num_classes must be in [2, '
                             f'{len(POINT_CLOUD_SHAPES)}], got {num_classes}')
        if split not in SYNTHETIC_SPLITS:
            raise ValueError(f'SyntheticPointClouds split must be one of '
                             f'{SYNTHETIC_SPLITS}, got {split!r}')
        self.num_samples = num_samples
        self.num_points = num_points
        self.num_classes = num_classes
        self.noise = noise
        self.seed = seed
        self.split = split
        metainfo = dict(metainfo or {})
        if kwargs.get('classes') is None:
            metainfo.setdefault('classes', POINT_CLOUD_SHAPES[:num_classes])
        super().__init__(ann_file='', pipeline=pipeline, metainfo=metainfo,
                         **kwargs)

    def load_data_list(self):
        rng = np.random.default_rng(
            [self.seed, SYNTHETIC_SPLITS.index(self.split)])
        counts = np.bincount(
            np.arange(self.num_samples) % self.num_classes,
            minlength=self.num_classes)
        self.fewest_points = FewestPoints(
            self.num_points, f"the dataset's num_points={self.num_points}")
        data_list = []
        for label, (shape, count) in enumerate(
                zip(POINT_CLOUD_SHAPES, counts)):
            clouds = generate_point_clouds(shape, int(count), self.num_points,
                                           self.noise, rng)
            data_list.extend(
                dict(points=cloud, gt_label=label) for cloud in clouds)
        return data_list

    def extra_repr(self):
        return [f'Split: \t{self.split}', f'Seed: \t{self.seed}',
                *super().extra_repr()]
