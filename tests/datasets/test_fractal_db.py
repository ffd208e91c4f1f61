"""FractalDB-style categories and their batched renderer."""
import math

import pytest
import torch

from adapterx.datasets.fractal_db import (FractalCategories, FractalRenderer,
                                          chaos_game, map_probabilities,
                                          rejection_reason,
                                          sample_fractal_categories,
                                          spread, spread_band)

NUM_CLASSES = 12


@pytest.fixture(scope='module')
def categories():
    return sample_fractal_categories(NUM_CLASSES, seed=3)


def small_renderer(categories, **kwargs):
    return FractalRenderer(categories, points=1024, num_chains=64, **kwargs)


def render(renderer, labels, seed):
    return renderer(torch.as_tensor(labels),
                    torch.Generator().manual_seed(seed))


def test_images_are_rgb_floats_in_unit_range_with_a_figure(categories):
    images = render(small_renderer(categories), torch.arange(NUM_CLASSES), 0)
    assert images.shape == (NUM_CLASSES, 3, 32, 32)
    assert images.dtype == torch.float32
    assert images.min() >= 0 and images.max() <= 1
    lit = (images.amax(1) > 0.05).float().mean((-1, -2))
    # A figure on a black background: something lit, never the whole image.
    assert (lit > 0.03).all() and (lit < 0.9).all()
    assert (images.amax((1, 2, 3)) > 0.5).all()


def test_grey_images_have_equal_channels_and_colour_ones_do_not(categories):
    labels = torch.arange(NUM_CLASSES)
    grey = render(small_renderer(categories, grey_probability=1.0), labels, 0)
    assert torch.equal(grey[:, 0], grey[:, 1])
    assert torch.equal(grey[:, 1], grey[:, 2])
    colour = render(small_renderer(categories, grey_probability=0.0),
                    labels, 0)
    channel_gap = colour.amax(1) - colour.amin(1)
    assert (channel_gap.amax((-1, -2)) > 0.1).all()


def test_categories_and_images_are_fixed_by_their_seeds(categories):
    again = sample_fractal_categories(NUM_CLASSES, seed=3)
    assert torch.equal(again.linear, categories.linear)
    assert torch.equal(again.translation, categories.translation)
    assert torch.equal(again.num_maps, categories.num_maps)
    other = sample_fractal_categories(NUM_CLASSES, seed=4)
    assert not torch.equal(other.linear, categories.linear)

    renderer = small_renderer(categories)
    labels = torch.tensor([0, 1, 1, 5])
    assert torch.equal(render(renderer, labels, 7), render(renderer, labels,
                                                           7))
    assert not torch.equal(render(renderer, labels, 7),
                           render(renderer, labels, 8))


def test_sampled_categories_satisfy_the_acceptance_rules(categories):
    assert ((categories.num_maps >= 2) & (categories.num_maps <= 4)).all()
    mask = categories.map_mask
    low, high = spread_band(categories.num_maps.float())
    spreads = spread(categories.linear, mask)
    assert ((spreads >= low) & (spreads <= high)).all()
    assert (torch.linalg.svdvals(categories.linear)[..., 0] < 1).all()
    # Padding maps are zero: they must never be picked.
    assert not categories.linear[~mask].any()


def test_the_chaos_game_uses_every_real_map_and_never_a_padding_one(
        categories):
    mask = categories.map_mask
    _, maps = chaos_game(categories.linear, categories.translation,
                         map_probabilities(categories.linear, mask),
                         num_chains=32, num_steps=16,
                         generator=torch.Generator().manual_seed(0))
    used = torch.zeros_like(mask).scatter_(1, maps, True)
    assert torch.equal(used, mask)


def pairwise_distance(images):
    flat = images.flatten(1)
    return torch.cdist(flat, flat)


def test_categories_differ_more_than_instances_of_one_category(categories):
    """Instances vary only by the maps' weight jitter here (no flips, fixed
    scale and place, grey), so the figure of a category must stay closer
    to itself than to other categories' figures."""
    renderer = small_renderer(categories, scale_range=(1.0, 1.0),
                              flip=False, grey_probability=1.0)
    per_class = 6
    labels = torch.arange(NUM_CLASSES).repeat_interleave(per_class)
    distance = pairwise_distance(render(renderer, labels, 0))
    same = labels[:, None] == labels[None]
    off_diagonal = ~torch.eye(len(labels), dtype=torch.bool)
    within = distance[same & off_diagonal].mean()
    between = distance[~same].mean()
    assert between > 1.25 * within
    # Each instance's nearest other instance is of its own category.
    nearest = distance.masked_fill(~off_diagonal, math.inf).argmin(1)
    assert (labels[nearest] == labels).float().mean() > 0.9


def one_system(linear, translation):
    linear = torch.tensor(linear, dtype=torch.float32)
    return FractalCategories(linear[None],
                             torch.tensor(translation)[None].float(),
                             torch.tensor([linear.shape[0]]))


def scaled_rotation(s1, s2, angle):
    cos, sin = math.cos(angle), math.sin(angle)
    return [[s1 * cos, -s2 * sin], [s1 * sin, s2 * cos]]


def test_a_map_that_does_not_contract_is_rejected():
    system = one_system([scaled_rotation(1.2, 0.5, 0.3),
                         scaled_rotation(0.6, 0.4, 1.0)],
                        [[0.5, 0.0], [-0.5, 0.2]])
    reason, = rejection_reason(system)
    assert reason == ('a map does not contract (largest singular value '
                      '1.200 >= 1): the chaos game diverges')


def test_maps_that_shrink_to_dots_are_rejected():
    system = one_system([scaled_rotation(0.1, 0.05, 0.0)] * 3,
                        [[0.5, 0.0], [-0.5, 0.2], [0.0, -0.7]])
    reason, = rejection_reason(system)
    assert reason == ('spread sum(s1 + 2 s2) = 0.600 is outside '
                      '[4.00, 4.50] for 3 maps')


def test_maps_that_share_their_fixed_point_are_rejected_by_coverage():
    """Two copies of one map pass the spread rule but draw a single dot."""
    system = one_system([scaled_rotation(0.95, 0.45, 0.4)] * 2,
                        [[0.3, -0.2]] * 2)
    reason, = rejection_reason(system,
                               generator=torch.Generator().manual_seed(0))
    assert reason.startswith('its rendering covers 0.001 of the canvas')
    assert reason.endswith('under the 0.12 a figure needs')


def test_a_spread_out_system_is_accepted():
    """Two copies of the rejected pair moved apart and turned differently:
    a spiral-like figure."""
    system = one_system([scaled_rotation(0.95, 0.45, 0.4),
                         scaled_rotation(0.95, 0.45, 2.0)],
                        [[0.3, -0.2], [-0.6, 0.5]])
    assert rejection_reason(system,
                            generator=torch.Generator().manual_seed(0)) == [
                                None
                            ]
