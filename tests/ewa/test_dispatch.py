"""Token dispatch: the random partition and its inverse are exact, the
groups are balanced and uniform, and the randomness is per rank."""
import pytest
import torch

import adapterx.models.ewa.dispatch as dispatch_module
from adapterx.models.ewa import (partition_generator, random_partition,
                                 top1_dispatch)


def tokens(count, channels=5):
    return torch.randn(count, channels,
                       generator=torch.Generator().manual_seed(count))


@pytest.mark.parametrize('num_tokens, num_experts', [(12, 4), (10, 4),
                                                     (3, 4), (7, 2)])
def test_random_partition_and_inverse_are_exact(num_tokens, num_experts):
    x = tokens(num_tokens)
    dispatch = random_partition(num_tokens, num_experts,
                                torch.Generator().manual_seed(0))
    grid = dispatch.group(x)
    capacity = -(-num_tokens // num_experts)
    assert grid.shape == (num_experts, capacity, 5)
    assert torch.equal(dispatch.ungroup(grid), x)

    experts = dispatch.expert_of_token
    sizes = torch.bincount(experts, minlength=num_experts)
    assert sizes.sum() == num_tokens
    assert sizes.max() - sizes.min() <= 1
    # Every token in its own slot of its expert; the slots no token fills
    # are zeros.
    assert torch.equal(grid[experts, dispatch.slots % capacity], x)
    assert dispatch.slots.unique().numel() == num_tokens
    unused = torch.ones(num_experts * capacity, dtype=torch.bool)
    unused[dispatch.slots] = False
    assert not grid.reshape(-1, 5)[unused].any()


def test_random_partition_is_uniform_and_follows_the_generator():
    draws = 4000
    generator = torch.Generator().manual_seed(0)
    counts = torch.zeros(6, 3)
    for _ in range(draws):
        experts = random_partition(6, 3, generator).expert_of_token
        counts[torch.arange(6), experts] += 1
    # Every token lands on every expert a third of the time (binomial
    # standard deviation ~30 here).
    torch.testing.assert_close(counts, torch.full((6, 3), draws / 3),
                               atol=150, rtol=0)
    first = random_partition(50, 4, torch.Generator().manual_seed(7)).slots
    again = random_partition(50, 4, torch.Generator().manual_seed(7)).slots
    other = random_partition(50, 4, torch.Generator().manual_seed(8)).slots
    assert torch.equal(first, again) and not torch.equal(first, other)


def test_top1_dispatch_groups_tokens_by_their_expert():
    x = tokens(9)
    expert_index = torch.tensor([2, 0, 2, 2, 1, 0, 2, 0, 2])
    dispatch = top1_dispatch(expert_index, num_experts=4)
    grid = dispatch.group(x)
    assert grid.shape == (4, 5, 5)  # expert 2 has the most tokens: 5
    assert torch.equal(dispatch.expert_of_token, expert_index)
    assert torch.equal(dispatch.ungroup(grid), x)
    # Tokens keep their order within an expert; expert 3 gets none.
    assert torch.equal(grid[0, :3], x[[1, 5, 7]])
    assert torch.equal(grid[2], x[[0, 2, 3, 6, 8]])
    assert not grid[3].any()


def test_partition_generator_is_reproducible_and_differs_per_rank(
        monkeypatch):
    def draw(seed, rank):
        monkeypatch.setattr(dispatch_module, 'get_rank', lambda: rank)
        torch.manual_seed(seed)
        return torch.randperm(100, generator=partition_generator('cpu'))

    assert torch.equal(draw(0, rank=0), draw(0, rank=0))
    assert not torch.equal(draw(0, rank=0), draw(0, rank=1))
    assert not torch.equal(draw(0, rank=0), draw(1, rank=0))
