import math
from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from ...peft.reparam import ReparamModule


class LoRABranch(ReparamModule):
    """LoRA (arXiv 2106.09685) on one linear layer: ``W x + s B A x`` on
    the output rows ``slices``, ``s = alpha / rank``.

    One (A, B) pair per slice, so that LoRA on the query and value of a
    fused qkv projection is the paper's two separate low-rank updates.
    A starts as in HF peft (Kaiming-uniform, a=sqrt(5)) and B at zero, so
    the layer's output is unchanged at step 0.

    Args:
        in_features (int): The layer's input width.
        slices (Sequence[tuple[int, int]]): [start, end) output rows that
            get an update; the whole output is ``[(0, out_features)]``.
        rank (int): r.
        alpha (float): The update is scaled by alpha / r.
        dropout (float): Dropout on the branch's input.
    """

    def __init__(self, in_features: int, slices: Sequence[tuple], rank: int,
                 alpha: float, dropout: float):
        super().__init__()
        widths = {end - start for start, end in slices}
        if len(widths) != 1:
            raise ValueError(f'LoRA slices {slices} must be of equal width')
        self.slices = [tuple(s) for s in slices]
        self.scaling = alpha / rank
        self.lora_A = nn.Parameter(torch.empty(len(slices), rank, in_features))
        self.lora_B = nn.Parameter(torch.zeros(len(slices), widths.pop(),
                                               rank))
        for a in self.lora_A:
            nn.init.kaiming_uniform_(a, a=math.sqrt(5))
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def delta_weight(self) -> torch.Tensor:
        """(num_slices, width, in_features): s B A of each slice."""
        return self.scaling * self.lora_B @ self.lora_A

    def forward(self, host_input, host_output):
        hidden = self.dropout(host_input)
        updates = [
            F.linear(F.linear(hidden, a), b) * self.scaling
            for a, b in zip(self.lora_A, self.lora_B)
        ]
        if self.slices == [(0, host_output.shape[-1])]:
            return host_output + updates[0]
        delta = host_output.new_zeros(host_output.shape)
        for (start, end), update in zip(self.slices, updates):
            delta[..., start:end] = update
        return host_output + delta

    def merge_into(self, host: nn.Linear) -> None:
        for (start, end), delta in zip(self.slices, self.delta_weight()):
            host.weight[start:end] += delta.to(host.weight.dtype)
