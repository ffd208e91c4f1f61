"""Mixture-of-experts FFNs that take the place of a ViT's dense FFN."""
import contextlib
import copy
from typing import List, Optional, Tuple

import torch
import torch.nn as nn
from torch import Tensor

from adapterx.registry import MODELS
from .dispatch import (TokenDispatch, partition_generator, random_partition,
                       top1_dispatch)
from .expert_linear import ExpertLinear, expert_spread

EVAL_MODES = ('averaged', 'experts')


class MoEFFN(nn.Module):
    """Base of the MoE FFNs: N experts of one token-wise FFN.

    ``self.experts`` is a copy of the dense FFN (a timm ``Mlp``, the layers
    of an mmcv ``FFN``, ...) whose ``nn.Linear`` layers are
    :class:`ExpertLinear` stacks of N experts; everything between them
    (activation, dropout, a hidden norm) is shared by the experts. The
    dense FFN's own forward thus runs every expert at once on the
    ``(N, capacity, C)`` grid of :class:`TokenDispatch`. Subclasses decide
    which expert each token goes to (:meth:`dispatch`).

    Args:
        ffn (nn.Module): The dense FFN; it is copied, not changed.
        num_experts (int): N >= 2.
        init (str): ``'copy'``: every expert starts as the dense FFN;
            ``'independent'``: each expert's linear layers drawn afresh
            with torch's ``nn.Linear`` initialisation.
        eval_mode (str): Out of training, ``'averaged'`` runs the dense FFN
            with the experts' mean weights (what :meth:`to_dense` returns);
            ``'experts'`` dispatches tokens as in training.
    """

    def __init__(self,
                 ffn: nn.Module,
                 num_experts: int = 4,
                 init: str = 'copy',
                 eval_mode: str = 'averaged'):
        super().__init__()
        owner = type(self).__name__
        if isinstance(num_experts, bool) or not isinstance(
                num_experts, int) or num_experts < 2:
            raise ValueError(f'{owner}: num_experts must be an integer >= 2, '
                             f'got {num_experts!r}')
        if eval_mode not in EVAL_MODES:
            raise ValueError(f'{owner}: eval_mode must be one of '
                             f'{EVAL_MODES}, got {eval_mode!r}')
        linears = [m for m in ffn.modules() if isinstance(m, nn.Linear)]
        if not linears:
            raise ValueError(
                f'{owner}: {type(ffn).__name__} has no nn.Linear layer to '
                'turn into experts')
        self.num_experts = num_experts
        self.eval_mode = eval_mode
        # deepcopy's memo swaps each linear layer for its expert stack while
        # the rest of the FFN is copied as it is.
        self.experts = copy.deepcopy(
            ffn, {
                id(linear): ExpertLinear.from_linear(linear, num_experts,
                                                     init)
                for linear in linears
            })

    def expert_linears(self) -> List[ExpertLinear]:
        return [m for m in self.experts.modules()
                if isinstance(m, ExpertLinear)]

    def dispatch(self, tokens: Tensor) -> Tuple[TokenDispatch,
                                                 Optional[Tensor]]:
        """The expert of each of the ``(T, C)`` tokens, and the factor each
        token's output is multiplied by (None: 1)."""
        raise NotImplementedError

    def forward(self, x: Tensor) -> Tensor:
        if not self.training and self.eval_mode == 'averaged':
            with self._averaged_experts():
                return self.experts(x)
        tokens = x.reshape(-1, x.shape[-1])
        dispatch, gates = self.dispatch(tokens)
        out = dispatch.ungroup(self.experts(dispatch.group(tokens)))
        if gates is not None:
            out = out * gates.unsqueeze(-1)
        return out.reshape(*x.shape[:-1], out.shape[-1])

    @contextlib.contextmanager
    def _averaged_experts(self):
        linears = self.expert_linears()
        for linear in linears:
            linear.averaged = True
        try:
            yield
        finally:
            for linear in linears:
                linear.averaged = False

    def to_dense(self) -> nn.Module:
        """The dense FFN with the experts' mean weights: the original
        FFN's structure, class and state-dict keys."""
        return copy.deepcopy(self.experts, {
            id(linear): linear.to_linear()
            for linear in self.expert_linears()
        })

    def average_experts_(self, share_rate: float,
                         share_rate_over: str = 'all') -> None:
        """Experts Weights Averaging with ``share_rate`` over
        ``share_rate_over`` (see :meth:`ExpertLinear.average_`)."""
        for linear in self.expert_linears():
            linear.average_(share_rate, share_rate_over)

    def expert_spread(self) -> Tensor:
        """:func:`expert_spread` over all of this MoE's expert tensors."""
        return expert_spread(
            [stack for linear in self.expert_linears()
             for stack in linear.stacks()])

    def auxiliary_loss(self) -> Optional[Tensor]:
        """The weighted auxiliary loss of the last forward, if any."""
        return None


@MODELS.register_module()
class RandomPartitionMoE(MoEFFN):
    """EWA's MoE FFN: the tokens of the batch are split among the experts
    by a uniformly random partition into equal groups
    (:func:`random_partition`); no router, no load-balancing loss.

    Out of training it runs, by default, the averaged experts: the dense
    FFN the model is converted to. ``eval_mode='experts'`` evaluates with
    random partitions instead.
    """

    def dispatch(self, tokens):
        generator = partition_generator(tokens.device)
        return random_partition(tokens.shape[0], self.num_experts, generator,
                                tokens.device), None


@MODELS.register_module()
class Top1MoE(MoEFFN):
    """The naive MoE baseline: a linear router (no bias) scores the experts
    of each token, the token goes to the top-1 expert and its output is
    scaled by that expert's softmax probability; Switch Transformer's
    load-balancing loss ``N * sum_i f_i * P_i`` (f: fraction of tokens per
    expert, P: mean probability per expert) keeps the experts in use.

    Args:
        ffn, num_experts, init: As for :class:`MoEFFN`.
        eval_mode (str): As for :class:`MoEFFN`; defaults to ``'experts'``
            (routed, as trained).
        balance_loss_weight (float): Weight of the balancing loss; 0
            disables it. Defaults to 0.01.
    """

    def __init__(self,
                 ffn: nn.Module,
                 num_experts: int = 4,
                 init: str = 'copy',
                 eval_mode: str = 'experts',
                 balance_loss_weight: float = 0.01):
        super().__init__(ffn, num_experts, init, eval_mode)
        if balance_loss_weight < 0:
            raise ValueError('Top1MoE: balance_loss_weight must be >= 0, got '
                             f'{balance_loss_weight}')
        self.balance_loss_weight = balance_loss_weight
        first = self.expert_linears()[0]
        self.router = nn.Linear(
            first.in_features,
            num_experts,
            bias=False,
            device=first.weight.device,
            dtype=first.weight.dtype)
        self.balance_loss = None

    def dispatch(self, tokens):
        probabilities = self.router(tokens).softmax(dim=-1)
        gates, experts = probabilities.max(dim=-1)
        fractions = torch.bincount(
            experts, minlength=self.num_experts).to(
                probabilities.dtype) / experts.numel()
        self.balance_loss = self.num_experts * (
            fractions * probabilities.mean(0)).sum()
        return top1_dispatch(experts, self.num_experts), gates

    def auxiliary_loss(self):
        if self.balance_loss_weight == 0 or self.balance_loss is None:
            return None
        return self.balance_loss_weight * self.balance_loss
