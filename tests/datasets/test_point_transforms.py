import numpy as np
import pytest
import torch
from mmpretrain.structures import DataSample

from adapterx.datasets.point_transforms import (NormalizePoints,
                                                PackPointInputs,
                                                RandomPointDropout,
                                                RandomRotatePoints,
                                                RandomScaleTranslate,
                                                ResamplePoints, ShufflePoints,
                                                rotation_matrix)
from adapterx.registry import TRANSFORMS


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def cloud(rng, num_points=256, channels=3):
    return rng.normal(size=(num_points, channels)).astype(np.float32)


def apply(transform, points):
    return transform(dict(points=points))['points']


def plane_with_normals(rng, num_points=64):
    """Points of the plane z = x + 2y, each with its unit normal."""
    xy = rng.uniform(-1, 1, (num_points, 2))
    xyz = np.column_stack([xy, xy[:, 0] + 2 * xy[:, 1]])
    normal = np.array([1.0, 2.0, -1.0]) / np.sqrt(6.0)
    return np.column_stack([xyz, np.tile(normal, (num_points, 1))]).astype(
        np.float32)


def assert_normals_fit_plane(points):
    """Every normal is unit and perpendicular to the mapped plane."""
    normals = points[:, 3:]
    np.testing.assert_allclose(np.linalg.norm(normals, axis=1), 1, atol=1e-5)
    in_plane = points[1:, :3] - points[0, :3]
    np.testing.assert_allclose(in_plane @ normals[0], 0, atol=1e-4)


def brute_force_fps(points, num_samples):
    """Greedy furthest point sampling from point 0: every step measures
    each point's distance to all points chosen so far."""
    chosen = [0]
    while len(chosen) < num_samples:
        distances = np.linalg.norm(
            points[:, None] - points[chosen][None], axis=-1).min(axis=1)
        chosen.append(int(np.argmax(distances)))
    return chosen


def min_pairwise_distance(points):
    differences = points[:, None] - points[None]
    distances = np.linalg.norm(differences, axis=-1)
    return distances[~np.eye(len(points), dtype=bool)].min()


def test_all_registered():
    for name in ('NormalizePoints', 'RandomScaleTranslate',
                 'RandomRotatePoints', 'RandomPointDropout', 'ShufflePoints',
                 'ResamplePoints', 'PackPointInputs'):
        assert TRANSFORMS.get(name).__module__ == \
            'adapterx.datasets.point_transforms'


def test_normalize_centres_and_fits_the_unit_sphere(rng):
    points = cloud(rng, channels=6) * 7 + 3
    normalized = apply(NormalizePoints(), points)
    np.testing.assert_allclose(normalized[:, :3].mean(axis=0), 0, atol=1e-5)
    assert np.linalg.norm(normalized[:, :3], axis=1).max() == \
        pytest.approx(1, abs=1e-6)
    np.testing.assert_array_equal(normalized[:, 3:], points[:, 3:])
    # Only an offset and a common scale: the shape is unchanged.
    centred = points[:, :3] - points[:, :3].mean(axis=0)
    ratio = normalized[:, :3] / centred
    np.testing.assert_allclose(ratio, ratio[0, 0], rtol=1e-4)


def test_normalize_keeps_a_single_point_at_the_origin():
    normalized = apply(NormalizePoints(), np.ones((4, 3), np.float32))
    np.testing.assert_array_equal(normalized, 0)


def test_scale_translate_stays_in_its_ranges_per_axis(rng):
    points = cloud(rng)
    transform = RandomScaleTranslate(scale_range=(0.5, 2.0),
                                     translate_range=0.3)
    np.random.seed(0)
    scales = []
    for _ in range(50):
        moved = apply(transform, points)
        for axis in range(3):
            scale, shift = np.polyfit(points[:, axis], moved[:, axis], 1)
            assert 0.5 <= scale <= 2.0
            assert -0.3 <= shift <= 0.3
            scales.append(scale)
        # Each axis has its own factor.
        axis_scales = scales[-3:]
        assert max(axis_scales) - min(axis_scales) > 1e-3
    # The draws cover the range rather than sitting at one value.
    assert min(scales) < 0.7 and max(scales) > 1.8


def test_scale_translate_keeps_normals_perpendicular(rng):
    np.random.seed(1)
    assert_normals_fit_plane(
        apply(RandomScaleTranslate(), plane_with_normals(rng)))


def test_scale_translate_draws_from_numpys_global_generator(rng):
    points = cloud(rng)
    np.random.seed(5)
    first = apply(RandomScaleTranslate(), points)
    np.random.seed(5)
    np.testing.assert_array_equal(apply(RandomScaleTranslate(), points),
                                  first)
    assert not np.allclose(apply(RandomScaleTranslate(), points), first)


def test_rotation_matrix_is_right_handed():
    np.testing.assert_allclose(
        rotation_matrix('z', np.pi / 2) @ [1, 0, 0], [0, 1, 0], atol=1e-12)
    np.testing.assert_allclose(
        rotation_matrix('x', np.pi / 2) @ [0, 1, 0], [0, 0, 1], atol=1e-12)
    np.testing.assert_allclose(
        rotation_matrix('y', np.pi / 2) @ [0, 0, 1], [1, 0, 0], atol=1e-12)
    matrix = rotation_matrix('y', 0.7)
    np.testing.assert_allclose(matrix @ matrix.T, np.eye(3), atol=1e-12)
    assert np.linalg.det(matrix) == pytest.approx(1)


@pytest.mark.parametrize('axis', ['x', 'y', 'z'])
def test_rotation_keeps_norms_and_the_axis_coordinate(rng, axis):
    points = cloud(rng)
    np.random.seed(2)
    angles = []
    for _ in range(20):
        rotated = apply(RandomRotatePoints(axis=axis), points)
        index = 'xyz'.index(axis)
        np.testing.assert_allclose(
            np.linalg.norm(rotated, axis=1), np.linalg.norm(points, axis=1),
            rtol=1e-5)
        np.testing.assert_allclose(rotated[:, index], points[:, index],
                                   atol=1e-6)
        first, second = [i for i in range(3) if i != index]
        before = np.arctan2(points[0, second], points[0, first])
        after = np.arctan2(rotated[0, second], rotated[0, first])
        angles.append((after - before) % (2 * np.pi))
    # Angles anywhere in [0, 2 pi), about y by default.
    assert min(angles) < 1 and max(angles) > 2 * np.pi - 1
    assert RandomRotatePoints().axis == 'y'


def test_rotation_respects_its_angle_range(rng):
    points = cloud(rng)
    np.random.seed(3)
    rotated = apply(RandomRotatePoints('z', angle_range=(0.5, 0.6)), points)
    angle = np.arctan2(rotated[:, 1], rotated[:, 0]) - \
        np.arctan2(points[:, 1], points[:, 0])
    angle = angle % (2 * np.pi)
    assert np.all((angle > 0.5 - 1e-5) & (angle < 0.6 + 1e-5))
    assert np.ptp(angle) < 1e-4


def test_rotation_turns_normals_with_the_points(rng):
    np.random.seed(4)
    rotated = apply(RandomRotatePoints('y'), plane_with_normals(rng))
    assert_normals_fit_plane(rotated)
    assert not np.allclose(rotated[:, 3:], plane_with_normals(rng)[:, 3:])


def test_rotation_rejects_an_unknown_axis():
    with pytest.raises(ValueError, match="'w'"):
        RandomRotatePoints(axis='w')


def test_dropout_keeps_n_and_copies_the_first_point(rng):
    points = cloud(rng, num_points=500, channels=6)
    np.random.seed(0)
    dropped_counts = []
    for _ in range(30):
        result = apply(RandomPointDropout(max_dropout_ratio=0.875), points)
        assert result.shape == points.shape
        unchanged = np.all(result == points, axis=1)
        is_first = np.all(result == points[0], axis=1)
        assert np.all(unchanged | is_first)
        dropped_counts.append(int((~unchanged).sum()))
    assert max(dropped_counts) > 50
    assert max(dropped_counts) < 0.875 * 500 * 1.1
    assert not np.shares_memory(result, points)


def test_dropout_with_zero_ratio_changes_nothing(rng):
    points = cloud(rng)
    np.testing.assert_array_equal(
        apply(RandomPointDropout(max_dropout_ratio=0), points), points)
    with pytest.raises(ValueError, match='max_dropout_ratio'):
        RandomPointDropout(max_dropout_ratio=1.0)


def test_shuffle_permutes_the_points(rng):
    points = cloud(rng, channels=6)
    np.random.seed(0)
    shuffled = apply(ShufflePoints(), points)
    assert not np.array_equal(shuffled, points)
    order = np.lexsort(points.T)
    np.testing.assert_array_equal(shuffled[np.lexsort(shuffled.T)],
                                  points[order])


def test_resample_first(rng):
    points = cloud(rng, channels=6)
    np.testing.assert_array_equal(
        apply(ResamplePoints(10, method='first'), points), points[:10])


def test_resample_random_takes_distinct_points(rng):
    points = cloud(rng)
    np.random.seed(0)
    sampled = apply(ResamplePoints(100, method='random'), points)
    assert sampled.shape == (100, 3)
    rows = {tuple(row) for row in sampled}
    assert len(rows) == 100
    assert rows <= {tuple(row) for row in points}


def test_resample_fps_matches_a_greedy_reference(rng):
    points = cloud(rng, num_points=120)
    sampled = apply(ResamplePoints(16, method='fps'), points)
    expected = points[brute_force_fps(points, 16)]
    np.testing.assert_array_equal(sampled, expected)
    np.testing.assert_array_equal(sampled[0], points[0])


def test_resample_fps_spreads_more_than_random(rng):
    points = cloud(rng, num_points=1000)
    np.random.seed(0)
    fps = apply(ResamplePoints(64, method='fps'), points)
    random = apply(ResamplePoints(64, method='random'), points)
    assert min_pairwise_distance(fps) > 2 * min_pairwise_distance(random)


def test_resample_fps_with_oversampling(rng):
    points = cloud(rng, num_points=300, channels=6)
    fps_120 = {tuple(row) for row in points[brute_force_fps(points[:, :3],
                                                             120)]}
    np.random.seed(0)
    first = apply(ResamplePoints(100, method='fps', oversample=120), points)
    second = apply(ResamplePoints(100, method='fps', oversample=120), points)
    for sampled in (first, second):
        assert sampled.shape == (100, 6)
        rows = {tuple(row) for row in sampled}
        assert len(rows) == 100 and rows <= fps_120
    # A random subset each time, not the first 100 of the 120.
    assert {tuple(row) for row in first} != {tuple(row) for row in second}


def test_resample_fills_a_small_cloud_with_duplicates(rng):
    points = cloud(rng, num_points=5)
    for method in ResamplePoints.METHODS:
        sampled = apply(ResamplePoints(12, method=method), points)
        assert sampled.shape == (12, 3)
        np.testing.assert_array_equal(sampled[:5], points)
        assert {tuple(row) for row in sampled[5:]} <= \
            {tuple(row) for row in points}


def test_resample_arguments_are_checked():
    with pytest.raises(ValueError, match='method'):
        ResamplePoints(10, method='uniform')
    with pytest.raises(ValueError, match='oversample'):
        ResamplePoints(10, method='random', oversample=20)
    with pytest.raises(ValueError, match='oversample'):
        ResamplePoints(10, method='fps', oversample=5)
    with pytest.raises(ValueError, match='points'):
        apply(ResamplePoints(10), np.zeros((10, 2), np.float32))


def test_pack_point_inputs(rng):
    points = cloud(rng, num_points=20, channels=6).astype(np.float64)
    packed = PackPointInputs(algorithm_keys=('extra', ))(
        dict(points=points, gt_label=3, sample_idx=7, extra=torch.ones(2),
             ignored='x'))
    assert set(packed) == {'inputs', 'data_samples'}
    inputs = packed['inputs']
    assert inputs.dtype == torch.float32 and inputs.shape == (20, 6)
    np.testing.assert_allclose(inputs.numpy(), points, rtol=1e-6)
    sample = packed['data_samples']
    assert isinstance(sample, DataSample)
    assert sample.gt_label.tolist() == [3]
    assert sample.sample_idx == 7
    assert sample.extra.tolist() == [1, 1]
    assert 'ignored' not in sample


def test_pack_point_inputs_meta_keys_and_shape_check(rng):
    packed = PackPointInputs(meta_keys=('shape_id', ))(
        dict(points=cloud(rng), gt_label=0, shape_id='cup_0001',
             sample_idx=1))
    assert packed['data_samples'].metainfo == {'shape_id': 'cup_0001'}
    with pytest.raises(ValueError, match=r'\(N, C\)'):
        PackPointInputs()(dict(points=np.zeros((2, 4, 3)), gt_label=0))
