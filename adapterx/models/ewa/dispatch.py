"""Which expert each token goes to, and the batched layout the experts run
on: every expert's tokens stacked into one ``(num_experts, capacity, C)``
tensor, so that all experts are one batched matmul."""
from typing import Optional

import numpy as np
import torch
from mmengine.dist import get_rank
from torch import Tensor


class TokenDispatch:
    """The place of each of T tokens in the ``(num_experts, capacity)`` grid
    of expert inputs: token ``t`` is row ``slots[t] % capacity`` of expert
    ``slots[t] // capacity``. Rows no token fills are zeros; the experts
    compute them and :meth:`ungroup` drops them.

    Args:
        slots (Tensor): ``(T,)`` distinct flat indices into the grid.
        num_experts (int): Experts (grid rows).
        capacity (int): Tokens per expert (grid columns).
    """

    def __init__(self, slots: Tensor, num_experts: int, capacity: int):
        self.slots = slots
        self.num_experts = num_experts
        self.capacity = capacity

    @property
    def expert_of_token(self) -> Tensor:
        return self.slots // self.capacity

    def group(self, tokens: Tensor) -> Tensor:
        """``(T, C)`` tokens to the ``(num_experts, capacity, C)`` grid."""
        grid = tokens.new_zeros(self.num_experts * self.capacity,
                                tokens.shape[-1])
        return grid.index_copy(0, self.slots, tokens).view(
            self.num_experts, self.capacity, -1)

    def ungroup(self, grid: Tensor) -> Tensor:
        """The inverse of :meth:`group`: ``(num_experts, capacity, C')``
        expert outputs back to ``(T, C')`` in the tokens' order."""
        return grid.reshape(self.num_experts * self.capacity, -1)[self.slots]


def _slots_of_tokens(order: Tensor, slots_in_order: Tensor) -> Tensor:
    """The slot of each token, given the slot ``slots_in_order[i]`` of
    token ``order[i]``."""
    slots = torch.empty_like(order)
    slots[order] = slots_in_order
    return slots


def random_partition(num_tokens: int,
                     num_experts: int,
                     generator: Optional[torch.Generator] = None,
                     device=None) -> TokenDispatch:
    """A uniformly random partition of the tokens among the experts into
    groups of (nearly) equal size.

    The tokens are shuffled (a random permutation) and dealt to the experts
    like cards: the r-th token of the permutation goes to expert ``r % N``,
    row ``r // N``. When N does not divide T, each expert gets
    ``ceil(T / N)`` rows and the ``N * ceil(T / N) - T`` empty ones are the
    last dealt, at most one per expert: group sizes differ by at most one
    token and no token is dropped.
    """
    capacity = -(-num_tokens // num_experts)
    order = torch.randperm(num_tokens, generator=generator, device=device)
    dealt = torch.arange(num_tokens, device=order.device)
    slots = (dealt % num_experts) * capacity + dealt // num_experts
    return TokenDispatch(
        _slots_of_tokens(order, slots), num_experts, capacity)


def top1_dispatch(expert_index: Tensor, num_experts: int) -> TokenDispatch:
    """Each token to the expert ``expert_index`` names (a router's top-1),
    capacity the largest group, so no token is dropped."""
    counts = torch.bincount(expert_index, minlength=num_experts)
    capacity = max(int(counts.max()), 1)
    order = torch.argsort(expert_index, stable=True)
    sorted_experts = expert_index[order]
    first_of_expert = torch.cumsum(counts, 0) - counts
    rows = torch.arange(
        expert_index.numel(),
        device=expert_index.device) - first_of_expert[sorted_experts]
    return TokenDispatch(
        _slots_of_tokens(order, sorted_experts * capacity + rows),
        num_experts, capacity)


def partition_generator(device) -> torch.Generator:
    """A generator for one random partition, different on every DDP rank.

    Its seed is one draw of torch's global generator, which EpochSeedHook
    reseeds from the run's seed and the epoch at every epoch and PeftRunner
    saves in every checkpoint: the partitions of a run are reproducible and
    a resumed run draws the ones an uninterrupted run would. The global
    generator is the same on every rank, so the rank is mixed into the
    seed: the ranks split their tokens differently. The generator lives on
    the tokens' device, so CUDA partitions are drawn there.
    """
    drawn = int(torch.randint(2**62, (1, )))
    seed = np.random.SeedSequence([drawn, get_rank()]).generate_state(
        1, np.uint64)[0]
    return torch.Generator(device=device).manual_seed(int(seed))
