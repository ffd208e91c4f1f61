import time

import numpy as np
import pytest

from adapterx.datasets import POINT_CLOUD_SHAPES, SyntheticPointClouds
from adapterx.datasets.synthetic_point_clouds import (SURFACE_SAMPLERS,
                                                      generate_point_clouds,
                                                      random_rotations)
from .point_cloud_writers import build_config_dataset


def synthetic(**kwargs):
    kwargs.setdefault('num_samples', 24)
    kwargs.setdefault('num_points', 64)
    return SyntheticPointClouds(serialize_data=False, **kwargs)


def clouds_and_labels(dataset):
    return (np.stack([sample['points'] for sample in dataset.data_list]),
            np.array([sample['gt_label'] for sample in dataset.data_list]))


def radial(points):
    return np.linalg.norm(points[..., :2], axis=-1)


def on_side_or_caps(side, caps, side_share):
    """Every point on the side or the caps, the side holding about
    ``side_share`` of them."""
    assert np.all(side | caps)
    assert side.mean() == pytest.approx(side_share, abs=0.03)


def close(a, b):
    return np.isclose(a, b, atol=1e-9)


def test_every_sampler_draws_points_on_its_surface():
    rng = np.random.default_rng(0)
    surfaces = {
        shape: SURFACE_SAMPLERS[shape](rng, (4, 1000))
        for shape in POINT_CLOUD_SHAPES
    }
    assert all(points.shape == (4, 1000, 3) for points in surfaces.values())
    x, y, z = np.moveaxis(surfaces['sphere'], -1, 0)
    assert np.allclose(x**2 + y**2 + z**2, 1)
    cube = surfaces['cube']
    assert np.all(close(np.abs(cube).max(axis=-1), 1))
    # Each of the six faces is hit about equally often.
    faces = np.abs(cube).argmax(axis=-1) * 2 + (cube.max(axis=-1) > 0.999)
    assert np.bincount(faces.ravel()).min() > 4000 / 6 * 0.8
    cylinder = surfaces['cylinder']
    on_side_or_caps(close(radial(cylinder), 1),
                    close(np.abs(cylinder[..., 2]), 1)
                    & (radial(cylinder) <= 1), 2 / 3)
    cone = surfaces['cone']
    on_side_or_caps(close(radial(cone), (1 - cone[..., 2]) / 2),
                    close(cone[..., 2], -1) & (radial(cone) <= 1),
                    np.sqrt(5) / (np.sqrt(5) + 1))
    torus = surfaces['torus']
    assert np.allclose((radial(torus) - 1)**2 + torus[..., 2]**2, 0.35**2)
    disc = surfaces['disc']
    assert np.all(disc[..., 2] == 0) and np.all(radial(disc) <= 1)
    assert radial(disc).mean() == pytest.approx(2 / 3, abs=0.02)
    pyramid = surfaces['pyramid']
    square = np.abs(pyramid[..., :2]).max(axis=-1)
    on_side_or_caps(close(square, (1 - pyramid[..., 2]) / 2),
                    close(pyramid[..., 2], -1) & (square <= 1),
                    4 * np.sqrt(5) / (4 * np.sqrt(5) + 4))
    capsule = surfaces['capsule']
    axis_distance = np.hypot(radial(capsule),
                             np.maximum(np.abs(capsule[..., 2]) - 1, 0))
    assert np.allclose(axis_distance, 0.5)


def test_random_rotations_are_proper_and_spread():
    rotations = random_rotations(np.random.default_rng(0), 2000)
    identity = np.broadcast_to(np.eye(3), rotations.shape)
    np.testing.assert_allclose(rotations @ rotations.transpose(0, 2, 1),
                               identity, atol=1e-10)
    np.testing.assert_allclose(np.linalg.det(rotations), 1)
    # Uniform rotations send the z axis uniformly over the sphere.
    assert np.abs((rotations @ [0, 0, 1]).mean(axis=0)).max() < 0.05


def test_generated_clouds_are_centred_in_the_unit_sphere():
    rng = np.random.default_rng(0)
    for shape in POINT_CLOUD_SHAPES:
        clouds = generate_point_clouds(shape, 5, 300, 0.02, rng)
        assert clouds.shape == (5, 300, 3) and clouds.dtype == np.float32
        np.testing.assert_allclose(clouds.mean(axis=1), 0, atol=1e-5)
        np.testing.assert_allclose(
            np.linalg.norm(clouds, axis=-1).max(axis=1), 1, rtol=1e-5)


def test_noise_moves_points_off_the_surface():
    def off_sphere(noise):
        clouds = generate_point_clouds('sphere', 20, 500, noise,
                                       np.random.default_rng(1))
        # A stretched sphere's distances to the centre spread a little;
        # noise spreads them further.
        return np.mean([np.std(np.linalg.norm(c, axis=1)) for c in clouds])

    assert off_sphere(0.1) > off_sphere(0.0) + 0.01


def test_same_seed_and_split_give_the_same_clouds():
    first, first_labels = clouds_and_labels(synthetic(seed=3))
    second, second_labels = clouds_and_labels(synthetic(seed=3))
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(first_labels, second_labels)
    other_seed, _ = clouds_and_labels(synthetic(seed=4))
    test, _ = clouds_and_labels(synthetic(seed=3, split='test'))
    for other in (other_seed, test):
        assert not np.any(np.all(np.isclose(first, other), axis=(1, 2)))


def test_samples_and_balanced_classes():
    dataset = synthetic(num_samples=30, num_points=100, num_classes=4)
    clouds, labels = clouds_and_labels(dataset)
    assert len(dataset) == 30
    assert clouds.shape == (30, 100, 3) and clouds.dtype == np.float32
    np.testing.assert_array_equal(np.bincount(labels), [8, 8, 7, 7])
    assert dataset.metainfo['classes'] == POINT_CLOUD_SHAPES[:4]
    np.testing.assert_allclose(np.linalg.norm(clouds, axis=-1).max(axis=1),
                               1, rtol=1e-5)
    assert type(dataset.get_data_info(0)['gt_label']) is int


def test_arguments_are_checked():
    with pytest.raises(ValueError, match='num_classes'):
        synthetic(num_classes=9)
    with pytest.raises(ValueError, match="'val'"):
        synthetic(split='val')


def test_generation_is_fast():
    start = time.perf_counter()
    synthetic(num_samples=800, num_points=1024)
    assert time.perf_counter() - start < 5


def test_base_config_builds_and_runs():
    for loader, size in (('train', 800), ('val', 400), ('test', 400)):
        dataset, cfg = build_config_dataset('synthetic_point_clouds.py',
                                            loader)
        assert len(dataset) == size
        assert len(dataset.metainfo['classes']) == cfg.num_classes == 8
        np.random.seed(0)
        packed = dataset[0]
        assert packed['inputs'].shape == (cfg.num_points, 3)
        assert int(packed['data_samples'].gt_label) == 0
    assert cfg.train_dataloader.num_workers == 0
