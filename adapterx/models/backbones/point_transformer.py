"""The Point-BERT / Point-MAE transformer encoder for point clouds.

A cloud of N points becomes G tokens: furthest point sampling picks G
centres, each centre's k nearest points form its group (coordinates
relative to the centre), and a mini-PointNet embeds every group. A learned
MLP of the centre coordinates is the position embedding, added before every
block (as both papers do); a class token with its own learned position
leads the sequence. Blocks are timm's ``Block`` (pre-norm attention and
MLP with drop path), so every adapter that knows timm's ViT blocks works
here too.

Shapes: points (B, N, 3) -> groups (B, G, k, 3) -> tokens (B, 1 + G, C).
"""
import copy
from typing import Optional, Sequence, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from mmengine.model.weight_init import trunc_normal_
from timm.models.vision_transformer import Block
from torch import Tensor

from adapterx.ops import furthest_point_sample, gather_points, knn_indices
from adapterx.registry import MODELS


class PointGrouper(nn.Module):
    """Centres by furthest point sampling, neighbourhoods by kNN.

    Args:
        num_groups (int): G, the number of centres (tokens).
        group_size (int): k, the points in each neighbourhood.
    """

    def __init__(self, num_groups: int, group_size: int):
        super().__init__()
        self.num_groups = num_groups
        self.group_size = group_size

    def forward(self, points: Tensor):
        """(B, N, 3) -> neighbourhoods (B, G, k, 3) relative to their centre,
        and centres (B, G, 3)."""
        centre_indices = furthest_point_sample(points, self.num_groups)
        centres = gather_points(points, centre_indices)
        neighbour_indices = knn_indices(points, centres, self.group_size)
        neighbourhoods = gather_points(points, neighbour_indices)
        return neighbourhoods - centres.unsqueeze(2), centres


class MiniPointNet(nn.Module):
    """Embeds each group of points into one vector: a shared point MLP,
    max-pooled, concatenated back onto every point, a second point MLP,
    max-pooled again.

    Args:
        out_channels (int): Width of the group embedding.
    """

    def __init__(self, out_channels: int):
        super().__init__()
        self.out_channels = out_channels
        self.first_conv = nn.Sequential(
            nn.Conv1d(3, 128, 1), nn.BatchNorm1d(128), nn.ReLU(inplace=True),
            nn.Conv1d(128, 256, 1))
        self.second_conv = nn.Sequential(
            nn.Conv1d(512, 512, 1), nn.BatchNorm1d(512),
            nn.ReLU(inplace=True), nn.Conv1d(512, out_channels, 1))

    def forward(self, groups: Tensor) -> Tensor:
        """(B, G, k, 3) -> (B, G, out_channels)."""
        batch_size, num_groups, group_size, _ = groups.shape
        points = groups.reshape(batch_size * num_groups, group_size,
                                3).transpose(1, 2)
        features = self.first_conv(points)  # (BG, 256, k)
        pooled = features.max(dim=2, keepdim=True).values
        features = torch.cat(
            [pooled.expand(-1, -1, group_size), features], dim=1)
        features = self.second_conv(features)  # (BG, out_channels, k)
        return features.max(dim=2).values.reshape(batch_size, num_groups,
                                                  self.out_channels)


@MODELS.register_module()
class PointTransformer(BaseModule):
    """The Point-BERT / Point-MAE encoder (their fine-tuning model minus the
    head).

    Args:
        arch (str | dict): ``'point-mae'`` (group embedding of width 384
            used directly), ``'point-bert'`` (width 256, then a linear
            projection to 384), or a dict with ``embed_dims``, ``depth``,
            ``num_heads``, ``group_embed_dims`` and optionally
            ``mlp_ratio``.
        num_groups (int): Tokens G per cloud: 64 for 1024 points, 128 for
            2048 (the papers' settings). Defaults to 64.
        group_size (int): Points per group. Defaults to 32.
        add_positions_every_block (bool): Add the position embeddings
            before every block (Point-BERT, Point-MAE, IDPT), or once before
            the first (DAPT's fine-tuning code). Defaults to True.
        drop_path_rate (float): Stochastic depth, rising linearly to this
            value over the blocks. Defaults to 0.1.
        init_cfg (dict, optional): e.g. ``dict(type='Pretrained',
            checkpoint=...)`` with a file written by
            ``tools/model_converters/point_transformer_to_adapterx.py``.
    """

    arch_zoo = {
        'point-mae':
        dict(embed_dims=384, depth=12, num_heads=6, group_embed_dims=384),
        'point-bert':
        dict(embed_dims=384, depth=12, num_heads=6, group_embed_dims=256),
    }
    # The class token precedes the group tokens (adapters that insert
    # tokens after the prefix read this, as on timm's ViT).
    num_prefix_tokens = 1

    def __init__(self,
                 arch: Union[str, dict] = 'point-mae',
                 num_groups: int = 64,
                 group_size: int = 32,
                 drop_path_rate: float = 0.1,
                 add_positions_every_block: bool = True,
                 init_cfg: Optional[Union[dict, Sequence[dict]]] = None):
        super().__init__(init_cfg=init_cfg)
        self.arch_settings = self._arch_settings(arch)
        embed_dims = self.arch_settings['embed_dims']
        depth = self.arch_settings['depth']
        group_embed_dims = self.arch_settings['group_embed_dims']
        self.embed_dims = embed_dims
        self.add_positions_every_block = add_positions_every_block

        self.grouper = PointGrouper(num_groups, group_size)
        self.group_encoder = MiniPointNet(group_embed_dims)
        # Point-BERT's dVAE tokenizer fixed the group width at 256; Point-MAE
        # embeds straight to the transformer's width.
        self.group_projection = (
            nn.Linear(group_embed_dims, embed_dims)
            if group_embed_dims != embed_dims else nn.Identity())
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dims))
        self.cls_pos = nn.Parameter(torch.zeros(1, 1, embed_dims))
        self.pos_embed = nn.Sequential(
            nn.Linear(3, 128), nn.GELU(), nn.Linear(128, embed_dims))
        drop_path_rates = torch.linspace(0, drop_path_rate, depth).tolist()
        self.blocks = nn.ModuleList([
            Block(
                dim=embed_dims,
                num_heads=self.arch_settings['num_heads'],
                mlp_ratio=self.arch_settings.get('mlp_ratio', 4.0),
                qkv_bias=False,
                drop_path=rate,
                # torch's LayerNorm (eps 1e-5) as both papers use, not
                # timm's default eps 1e-6.
                norm_layer=nn.LayerNorm) for rate in drop_path_rates
        ])
        self.norm = nn.LayerNorm(embed_dims)

    @classmethod
    def _arch_settings(cls, arch) -> dict:
        if isinstance(arch, str):
            if arch not in cls.arch_zoo:
                raise ValueError(f'arch {arch!r} is not one of '
                                 f'{sorted(cls.arch_zoo)} (or pass a dict)')
            return copy.deepcopy(cls.arch_zoo[arch])
        required = {'embed_dims', 'depth', 'num_heads', 'group_embed_dims'}
        missing = required - set(arch)
        if missing:
            raise ValueError(
                f'arch dict {arch} lacks {sorted(missing)}; it needs '
                f'{sorted(required)}')
        return dict(arch)

    def init_weights(self) -> None:
        # The papers' initialisation for training from scratch; a
        # ``Pretrained`` init_cfg then overwrites it in super().
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Conv1d)):
                trunc_normal_(module.weight, std=.02)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.LayerNorm):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
        trunc_normal_(self.cls_token, std=.02)
        trunc_normal_(self.cls_pos, std=.02)
        super().init_weights()

    def embed(self, points: Tensor):
        """The input sequence and its position embeddings, both
        (B, 1 + G, C)."""
        neighbourhoods, centres = self.grouper(points[..., :3].contiguous())
        tokens = self.group_projection(self.group_encoder(neighbourhoods))
        batch_size = tokens.shape[0]
        tokens = torch.cat(
            [self.cls_token.expand(batch_size, -1, -1), tokens], dim=1)
        positions = torch.cat([
            self.cls_pos.expand(batch_size, -1, -1),
            self.pos_embed(centres)
        ], dim=1)
        return tokens, positions

    def forward(self, points: Tensor):
        """(B, N, 3+) points -> a 1-tuple of normalised tokens
        (B, 1 + G, C): the class token first, then the group tokens."""
        tokens, positions = self.embed(points)
        if not self.add_positions_every_block:
            tokens, positions = tokens + positions, 0
        for block in self.blocks:
            tokens = block(tokens + positions)
        return (self.norm(tokens), )
