from typing import Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmpretrain.models.heads import ClsHead
from torch import Tensor

from adapterx.registry import MODELS

POOLINGS = ('cls', 'prompt_mean', 'max', 'mean')


@MODELS.register_module()
class PointClsHead(ClsHead):
    """The point-cloud classification head of Point-BERT / Point-MAE / DAPT.

    Pools the backbone's tokens into one vector by concatenating the chosen
    poolings, then an MLP (Linear[-BN]-ReLU-Dropout per hidden layer) and a
    final Linear:

    - Point-MAE: ``pooling=('cls', 'max')``, hidden (256, 256) with BN.
    - Point-BERT: ``pooling=('cls', 'max')``, hidden (256,) without BN.
    - DAPT / Adapter-X 3D: ``pooling=('cls', 'prompt_mean', 'max')``: the
      mean of the prompt tokens joins the class token and the max over the
      group tokens (input width 3C).

    Args:
        num_classes (int): Classes.
        in_channels (int): Token width C.
        pooling (Sequence[str]): Any of ``'cls'`` (the class token),
            ``'prompt_mean'`` (mean of the prompt tokens), ``'max'`` and
            ``'mean'`` (over the group tokens).
        hidden_channels (Sequence[int]): Widths of the hidden layers.
        batch_norm (bool): BatchNorm1d after each hidden Linear.
        dropout (float): Dropout after each hidden layer.
        **kwargs: ``ClsHead``'s (``loss``, ``topk``, ``init_cfg``).
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 pooling: Sequence[str] = ('cls', 'max'),
                 hidden_channels: Sequence[int] = (256, 256),
                 batch_norm: bool = True,
                 dropout: float = 0.5,
                 **kwargs):
        super().__init__(**kwargs)
        unknown = [name for name in pooling if name not in POOLINGS]
        if unknown or not pooling:
            raise ValueError(f'pooling {list(pooling)} must be a non-empty '
                             f'list of {list(POOLINGS)}')
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.pooling = tuple(pooling)
        layers = []
        width = in_channels * len(self.pooling)
        for hidden in hidden_channels:
            layers.append(nn.Linear(width, hidden))
            if batch_norm:
                layers.append(nn.BatchNorm1d(hidden))
            layers += [nn.ReLU(inplace=True), nn.Dropout(dropout)]
            width = hidden
        layers.append(nn.Linear(width, num_classes))
        self.layers = nn.Sequential(*layers)

    def pre_logits(self, feats: Tuple[Tensor, Optional[Tensor]]) -> Tensor:
        """``feats``: the backbone's normalised tokens (B, 1 + G, C), class
        token first, and the normalised prompt tokens (B, P, C) or None.
        Returns the pooled (B, C * len(pooling)) vector."""
        tokens, prompts = feats
        group_tokens = tokens[:, 1:]
        pooled = []
        for name in self.pooling:
            if name == 'cls':
                pooled.append(tokens[:, 0])
            elif name == 'max':
                pooled.append(group_tokens.max(dim=1).values)
            elif name == 'mean':
                pooled.append(group_tokens.mean(dim=1))
            else:
                if prompts is None:
                    raise ValueError(
                        "pooling 'prompt_mean' needs prompt tokens, but the "
                        'backbone produced none (no prompt generator?)')
                pooled.append(prompts.mean(dim=1))
        return torch.cat(pooled, dim=-1)

    def forward(self, feats) -> Tensor:
        return self.layers(self.pre_logits(feats))
