"""PointTransformer: grouping, the group encoder, and the whole encoder
against a dense re-statement of the Point-BERT / Point-MAE forward."""
import pytest
import torch
import torch.nn.functional as F

from adapterx.models import PointTransformer
from adapterx.models.backbones import MiniPointNet, PointGrouper

TINY_ARCH = dict(embed_dims=32, depth=2, num_heads=2, group_embed_dims=24)


def tiny_backbone(**kwargs):
    backbone = PointTransformer(
        arch=TINY_ARCH, num_groups=8, group_size=16, **kwargs)
    backbone.init_weights()
    return backbone.eval()


def exact_distances(a, b):
    return (a.unsqueeze(1) - b.unsqueeze(0)).norm(dim=-1)


def test_groups_are_the_nearest_points_of_each_centre_relative_to_it():
    points = torch.rand(2, 256, 3)
    neighbourhoods, centres = PointGrouper(num_groups=8, group_size=16)(points)
    assert neighbourhoods.shape == (2, 8, 16, 3)
    assert centres.shape == (2, 8, 3)
    for b in range(2):
        # Every centre is one of the cloud's points ...
        assert exact_distances(centres[b], points[b]).min(dim=1).values.max() \
            == 0
        for g in range(8):
            absolute = neighbourhoods[b, g] + centres[b, g]
            distance = (points[b] - centres[b, g]).norm(dim=1)
            # ... and its group is exactly its 16 nearest points.
            expected = points[b][distance.argsort()[:16]]
            assert exact_distances(absolute, expected).min(dim=1).values.max() \
                < 1e-6
            assert (absolute - centres[b, g]).norm(dim=1).max() <= \
                distance.sort().values[15] + 1e-6


def test_mini_pointnet_is_the_two_stage_shared_mlp_with_max_pooling():
    encoder = MiniPointNet(out_channels=24).eval()
    for module in encoder.modules():
        if isinstance(module, torch.nn.BatchNorm1d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
    groups = torch.randn(2, 5, 7, 3)

    def shared_linear(conv, x):  # x (..., points, channels)
        return F.linear(x, conv.weight.squeeze(-1), conv.bias)

    def batch_norm(bn, x):
        return (x - bn.running_mean) / torch.sqrt(bn.running_var +
                                                  bn.eps) * bn.weight + bn.bias

    first, second = encoder.first_conv, encoder.second_conv
    features = shared_linear(
        first[3], torch.relu(batch_norm(first[1], shared_linear(first[0],
                                                                groups))))
    pooled = features.max(dim=2, keepdim=True).values.expand_as(features)
    features = torch.cat([pooled, features], dim=-1)
    features = shared_linear(
        second[3],
        torch.relu(batch_norm(second[1], shared_linear(second[0], features))))
    expected = features.max(dim=2).values
    with torch.no_grad():
        torch.testing.assert_close(encoder(groups), expected,
                                   rtol=1e-5, atol=1e-5)
        # Order of the points inside a group does not matter.
        shuffled = groups[:, :, torch.randperm(7)]
        torch.testing.assert_close(encoder(shuffled), expected,
                                   rtol=1e-5, atol=1e-5)


def reference_block(block, x, num_heads):
    """The official Block: pre-norm attention without qkv bias, then the
    GELU MLP, each added to the residual."""
    batch_size, length, dims = x.shape
    h = F.layer_norm(x, (dims, ), block.norm1.weight, block.norm1.bias)
    qkv = (h @ block.attn.qkv.weight.T).reshape(batch_size, length, 3,
                                                num_heads, dims // num_heads)
    q, k, v = qkv.permute(2, 0, 3, 1, 4)
    attention = (q @ k.transpose(-2, -1) * (dims // num_heads)**-0.5)
    attended = (attention.softmax(-1) @ v).transpose(1, 2).reshape(
        batch_size, length, dims)
    x = x + F.linear(attended, block.attn.proj.weight, block.attn.proj.bias)
    h = F.layer_norm(x, (dims, ), block.norm2.weight, block.norm2.bias)
    hidden = F.gelu(F.linear(h, block.mlp.fc1.weight, block.mlp.fc1.bias))
    return x + F.linear(hidden, block.mlp.fc2.weight, block.mlp.fc2.bias)


def test_forward_equals_the_papers_encoder_written_out():
    backbone = tiny_backbone()
    points = torch.rand(2, 128, 3)
    with torch.no_grad():
        (tokens, ) = backbone(points)
        neighbourhoods, centres = backbone.grouper(points)
        x = backbone.group_projection(backbone.group_encoder(neighbourhoods))
        x = torch.cat([backbone.cls_token.expand(2, -1, -1), x], dim=1)
        position = torch.cat([
            backbone.cls_pos.expand(2, -1, -1),
            F.linear(
                F.gelu(
                    F.linear(centres, backbone.pos_embed[0].weight,
                             backbone.pos_embed[0].bias)),
                backbone.pos_embed[2].weight, backbone.pos_embed[2].bias)
        ], dim=1)
        for block in backbone.blocks:
            # The position embedding is added before every block.
            x = reference_block(block, x + position, num_heads=2)
        expected = F.layer_norm(x, (32, ), backbone.norm.weight,
                                backbone.norm.bias)
    assert tokens.shape == (2, 1 + 8, 32)
    torch.testing.assert_close(tokens, expected, rtol=1e-4, atol=1e-5)


def test_published_archs_and_their_widths():
    point_mae = PointTransformer('point-mae')
    point_bert = PointTransformer('point-bert')
    assert len(point_mae.blocks) == len(point_bert.blocks) == 12
    assert point_mae.embed_dims == point_bert.embed_dims == 384
    assert isinstance(point_mae.group_projection, torch.nn.Identity)
    assert point_bert.group_projection.in_features == 256
    assert point_mae.group_encoder.out_channels == 384
    # No bias on qkv, as in both papers' code.
    assert point_mae.blocks[0].attn.qkv.bias is None
    # Drop path rises linearly from 0 to the rate.
    rates = [float(block.drop_path1.drop_prob)
             if hasattr(block.drop_path1, 'drop_prob') else 0.0
             for block in PointTransformer('point-mae',
                                           drop_path_rate=0.11).blocks]
    assert rates[0] == 0.0
    assert rates[-1] == pytest.approx(0.11)
    assert rates == sorted(rates)


def test_extra_input_channels_are_ignored_for_grouping():
    backbone = tiny_backbone()
    xyz = torch.rand(1, 64, 3)
    with_normals = torch.cat([xyz, torch.randn(1, 64, 3)], dim=-1)
    with torch.no_grad():
        torch.testing.assert_close(backbone(with_normals)[0], backbone(xyz)[0])


@pytest.mark.parametrize('arch, message', [
    ('point-gpt', 'is not one of'),
    (dict(embed_dims=32, depth=2), 'lacks'),
])
def test_bad_arch_is_named(arch, message):
    with pytest.raises(ValueError, match=message):
        PointTransformer(arch=arch)


def test_positions_added_once_before_the_first_block():
    """DAPT's fine-tuning code adds the positions only before block 0."""
    backbone = tiny_backbone(add_positions_every_block=False)
    points = torch.rand(2, 256, 3)
    tokens, positions = backbone.embed(points)
    expected = tokens + positions
    for block in backbone.blocks:
        expected = block(expected)
    torch.testing.assert_close(backbone(points)[0], backbone.norm(expected))
    every_block = tiny_backbone()
    assert not torch.allclose(every_block(points)[0], backbone(points)[0])
