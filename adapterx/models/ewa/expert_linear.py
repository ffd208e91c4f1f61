from typing import List, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

EXPERT_INITS = ('copy', 'independent')
SHARE_RATE_OVER = ('all', 'others')


def check_share_rate_over(share_rate_over: str,
                          owner: str = 'ExpertLinear') -> None:
    """Raise a ValueError naming ``share_rate_over`` (and its ``owner``)
    unless it is one of :data:`SHARE_RATE_OVER`."""
    if share_rate_over not in SHARE_RATE_OVER:
        raise ValueError(
            f'{owner}: share_rate_over must be one of '
            f'{list(SHARE_RATE_OVER)} (the mean the share rate mixes in: of '
            f'all experts, or of the others), got {share_rate_over!r}')


def pull_toward_mean(share_rate: float, num_experts: int,
                     share_rate_over: str = 'all') -> float:
    """The b of ``W_i <- (1 - b) W_i + b mean_j W_j`` that a share rate
    gives.

    ``'all'``: the share rate is b. ``'others'``: the share rate beta mixes
    in the mean of the other experts, ``W_i <- (1 - beta) W_i + beta
    mean_{j != i} W_j``; since ``mean_{j != i} W_j = (N mean_j W_j - W_i) /
    (N - 1)``, that is the same update with ``b = beta N / (N - 1)``.
    """
    check_share_rate_over(share_rate_over)
    if share_rate_over == 'all':
        return share_rate
    if num_experts < 2:
        raise ValueError(
            "ExpertLinear: share_rate_over='others' needs at least 2 "
            f'experts, got {num_experts}')
    return share_rate * num_experts / (num_experts - 1)


class ExpertLinear(nn.Module):
    """``num_experts`` linear layers of one shape, their weights stacked so
    that all experts run as one batched matmul.

    Input ``(num_experts, tokens, in_features)``: expert ``i`` transforms
    row ``i``. With :attr:`averaged` set it is instead the plain linear
    layer whose weight and bias are the experts' means, on input of any
    shape: exactly the layer :meth:`to_linear` returns.

    Args:
        num_experts (int): N.
        in_features (int): As for ``nn.Linear``.
        out_features (int): As for ``nn.Linear``.
        bias (bool): As for ``nn.Linear``.
        dense_type (type): The ``nn.Linear`` class :meth:`to_linear` builds
            (e.g. mmcv's ``Linear`` in mmpretrain's FFN), called with
            ``(in_features, out_features, bias=...)``.
    """

    def __init__(self,
                 num_experts: int,
                 in_features: int,
                 out_features: int,
                 bias: bool = True,
                 dense_type: type = nn.Linear,
                 device=None,
                 dtype=None):
        super().__init__()
        self.num_experts = num_experts
        self.in_features = in_features
        self.out_features = out_features
        self.dense_type = dense_type
        self.averaged = False
        factory = dict(device=device, dtype=dtype)
        self.weight = nn.Parameter(
            torch.empty(num_experts, out_features, in_features, **factory))
        self.bias = nn.Parameter(torch.empty(
            num_experts, out_features, **factory)) if bias else None

    @classmethod
    def from_linear(cls, linear: nn.Linear, num_experts: int,
                    init: str = 'copy') -> 'ExpertLinear':
        """Experts of ``linear``'s shape: each a copy of ``linear``
        (``init='copy'``), or each drawn independently with torch's default
        ``nn.Linear`` initialisation (``'independent'``)."""
        if init not in EXPERT_INITS:
            raise ValueError(
                f'init must be one of {EXPERT_INITS}, got {init!r}')
        has_bias = linear.bias is not None
        factory = dict(device=linear.weight.device, dtype=linear.weight.dtype)
        experts = cls(num_experts, linear.in_features, linear.out_features,
                      has_bias, type(linear), **factory)
        sources = [linear] * num_experts if init == 'copy' else [
            nn.Linear(linear.in_features, linear.out_features, has_bias,
                      **factory) for _ in range(num_experts)
        ]
        with torch.no_grad():
            experts.weight.copy_(torch.stack([s.weight for s in sources]))
            if has_bias:
                experts.bias.copy_(torch.stack([s.bias for s in sources]))
        return experts

    def stacks(self) -> List[Tensor]:
        """The stacked expert tensors (weight, and bias if any)."""
        return [p for p in (self.weight, self.bias) if p is not None]

    def mean_parameters(self):
        """The averaged expert: (weight, bias or None)."""
        return self.weight.mean(0), (None if self.bias is None else
                                     self.bias.mean(0))

    def forward(self, x: Tensor) -> Tensor:
        if self.averaged:
            return F.linear(x, *self.mean_parameters())
        if x.dim() != 3 or x.shape[0] != self.num_experts:
            raise ValueError(
                f'ExpertLinear with {self.num_experts} experts expects '
                f'(num_experts, tokens, {self.in_features}) input, got '
                f'{tuple(x.shape)}')
        out = torch.bmm(x, self.weight.transpose(1, 2))
        return out if self.bias is None else out + self.bias.unsqueeze(1)

    def to_linear(self) -> nn.Linear:
        """The averaged expert as a layer of the dense model's class."""
        weight, bias = self.mean_parameters()
        linear = self.dense_type(
            self.in_features,
            self.out_features,
            bias=bias is not None,
            device=weight.device,
            dtype=weight.dtype)
        with torch.no_grad():
            linear.weight.copy_(weight)
            if bias is not None:
                linear.bias.copy_(bias)
        return linear

    @torch.no_grad()
    def average_(self, share_rate: float,
                 share_rate_over: str = 'all') -> None:
        """EWA: every expert moves toward the experts' mean,
        ``W_i <- (1 - share_rate) W_i + share_rate * mean_j W_j``; with
        ``share_rate_over='others'``, ``W_i <- (1 - share_rate) W_i +
        share_rate * mean_{j != i} W_j`` (:func:`pull_toward_mean`)."""
        pull = pull_toward_mean(share_rate, self.num_experts,
                                share_rate_over)
        for stack in self.stacks():
            stack.lerp_(stack.mean(0, keepdim=True), pull)

    def extra_repr(self) -> str:
        return (f'num_experts={self.num_experts}, '
                f'in_features={self.in_features}, '
                f'out_features={self.out_features}, '
                f'bias={self.bias is not None}')


def expert_spread(stacks: Sequence[Tensor]) -> Tensor:
    """Root-mean-square distance of the experts from their mean, over
    stacked expert tensors (expert index first): 0 when all experts are
    equal; EWA with share rate b multiplies it by (1 - b)."""
    squares = [(stack - stack.mean(0, keepdim=True)).square().sum()
               for stack in stacks]
    count = sum(stack.numel() for stack in stacks)
    return (torch.stack(squares).sum() / count).sqrt()
