import pytest
import torch
import torch.nn.functional as F

from adapterx.models import SimpleFeaturePyramid


def channel_layer_norm(x, norm):
    return F.layer_norm(x.permute(0, 2, 3, 1), norm.normalized_shape,
                        norm.weight, norm.bias, norm.eps).permute(0, 3, 1, 2)


def test_vitdet_levels_from_the_last_map():
    """One stride-16 map gives strides 4, 8, 16, 32 and, with num_outs=5,
    64 (Mask R-CNN's RPN levels)."""
    neck = SimpleFeaturePyramid(
        in_channels=32, out_channels=8, scale_factors=(4, 2, 1, 0.5),
        num_outs=5)
    levels = neck([torch.randn(2, 32, 8, 12)])
    assert [tuple(level.shape) for level in levels] == [
        (2, 8, 32, 48), (2, 8, 16, 24), (2, 8, 8, 12), (2, 8, 4, 6),
        (2, 8, 2, 3)]
    torch.testing.assert_close(levels[4], levels[3][:, :, ::2, ::2])


def test_level_i_rescales_map_i():
    neck = SimpleFeaturePyramid(
        in_channels=16, out_channels=16, scale_factors=(2, 1, 0.5))
    maps = [torch.randn(1, 16, 4, 4) for _ in range(3)]
    levels = neck(maps)
    assert [level.shape[-1] for level in levels] == [8, 4, 2]
    # The identity level is 1x1 conv + norm, 3x3 conv + norm of its own map.
    _, conv1, norm1, conv3, norm3 = neck.levels[1]
    expected = channel_layer_norm(
        F.conv2d(channel_layer_norm(F.conv2d(maps[1], conv1.weight), norm1),
                 conv3.weight, padding=1), norm3)
    torch.testing.assert_close(levels[1], expected)
    # The 0.5 level max-pools its map before the convolutions.
    _, conv1, norm1, _, _ = neck.levels[2]
    pooled = F.max_pool2d(maps[2], 2)
    torch.testing.assert_close(
        neck.levels[2][:3](maps[2]),
        channel_layer_norm(F.conv2d(pooled, conv1.weight), norm1))


def test_bad_settings_and_inputs_are_reported():
    with pytest.raises(ValueError, match='4, 2, 1 or 0.5, got 3'):
        SimpleFeaturePyramid(in_channels=8, out_channels=8,
                             scale_factors=(3, 1))
    with pytest.raises(ValueError, match='num_outs=1'):
        SimpleFeaturePyramid(in_channels=8, out_channels=8, num_outs=1)
    neck = SimpleFeaturePyramid(in_channels=8, out_channels=8)
    with pytest.raises(ValueError, match='got 2 input maps'):
        neck([torch.randn(1, 8, 4, 4)] * 2)
