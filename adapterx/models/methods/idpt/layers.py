from typing import Optional

import torch
import torch.nn as nn
from torch import Tensor

from ...peft.block_patching import BlockAdditions
from ...peft.forward_context import ForwardContext


def edge_features(features: Tensor, k: int) -> Tensor:
    """DGCNN's edge features in feature space: for every token its k
    nearest tokens (itself included), ``cat(neighbour - centre, centre)``.

    (B, C, N) -> (B, 2C, N, k).
    """
    squared = (features**2).sum(dim=1, keepdim=True)  # (B, 1, N)
    distances = squared.transpose(1, 2) + squared - 2 * torch.bmm(
        features.transpose(1, 2), features)
    neighbours = distances.topk(k, dim=-1, largest=False).indices
    tokens = features.transpose(1, 2)  # (B, N, C)
    gathered = torch.gather(
        tokens.unsqueeze(1).expand(-1, tokens.shape[1], -1, -1), 2,
        neighbours.unsqueeze(-1).expand(-1, -1, -1, tokens.shape[-1]))
    centres = tokens.unsqueeze(2).expand_as(gathered)
    return torch.cat([gathered - centres, centres],
                     dim=-1).permute(0, 3, 1, 2)


class EdgeConvPromptGenerator(nn.Module):
    """IDPT's prompt module (its ``dgcnn`` option): three EdgeConv layers
    on the kNN graph of the tokens in feature space (1x1 conv of the edge
    features without bias, BatchNorm, LeakyReLU 0.2, max over the k
    neighbours), their outputs concatenated, a 1x1 conv back to C with
    BatchNorm and LeakyReLU, and a max over the tokens: one prompt token
    per sample.

    Args:
        embed_dims (int): Token width C.
        k (int): Neighbours (fewer when there are fewer tokens). Defaults
            to 20 (IDPT's).
        num_layers (int): EdgeConv layers. Defaults to 3.
    """

    def __init__(self, embed_dims: int, k: int = 20, num_layers: int = 3):
        super().__init__()
        self.k = k
        self.edge_convs = nn.ModuleList([
            nn.Sequential(
                nn.Conv2d(2 * embed_dims, embed_dims, 1, bias=False),
                nn.BatchNorm2d(embed_dims), nn.LeakyReLU(0.2))
            for _ in range(num_layers)
        ])
        self.fuse = nn.Sequential(
            nn.Conv1d(num_layers * embed_dims, embed_dims, 1, bias=False),
            nn.BatchNorm1d(embed_dims), nn.LeakyReLU(0.2))

    def forward(self, tokens: Tensor) -> Tensor:
        """(B, N, C) -> (B, 1, C)."""
        features = tokens.transpose(1, 2)
        k = min(self.k, features.shape[-1])
        layer_outputs = []
        for edge_conv in self.edge_convs:
            features = edge_conv(edge_features(features, k)).max(dim=-1).values
            layer_outputs.append(features)
        fused = self.fuse(torch.cat(layer_outputs, dim=1))
        return fused.max(dim=-1).values.unsqueeze(1)


class IDPTPrompt(BlockAdditions):
    """The dynamic prompt of the block it is attached to (as
    ``block.idpt``): generated from the block's input tokens after the
    prefix, inserted after the class token for this block (and carried
    through any later ones).

    Backbones that add position embeddings before every block
    (``PointTransformer``) hand the block ``tokens + positions``; IDPT
    generates from the tokens alone, so the positions of the forward
    (``context.positions``, see :class:`IDPT`) are taken off first.
    """

    def __init__(self, generator: nn.Module, num_prefix_tokens: int,
                 context: ForwardContext):
        super().__init__(num_prefix_tokens, context)
        self.generator = generator

    def entry_prompts(self, x: Tensor,
                      carried: Optional[Tensor]) -> Tensor:
        tokens = x[:, self.num_prefix_tokens:]
        if self.context.positions is not None:
            tokens = tokens - self.context.positions
        return self.generator(tokens)
