import torch
from torch.utils.data import DataLoader

from adapterx.engine.loops import _EpochSeededDataLoader


def worker_base_seeds(draws_before_each_pass):
    """The seed each pass's iterator gives its workers, when the main
    process drew the given numbers of values before the pass."""
    loader = _EpochSeededDataLoader(DataLoader(range(4), batch_size=2),
                                    seed=3)
    seeds = []
    for draws in draws_before_each_pass:
        torch.rand(draws)
        seeds.append(iter(loader)._base_seed)
    return seeds


def test_passes_draw_worker_seeds_from_the_seed_and_pass_alone():
    """A resumed iteration-based run passes over the trained batches
    without the dropout draws the uninterrupted run made in between; the
    workers of a pass must get the same seeds anyway."""
    uninterrupted = worker_base_seeds([0, 5, 9])
    assert worker_base_seeds([2, 0, 1]) == uninterrupted
    assert len(set(uninterrupted)) == 3  # a new seed for every pass
    loader = _EpochSeededDataLoader(DataLoader(range(4), batch_size=2),
                                    seed=3)
    assert len(loader) == 2 and loader.batch_size == 2
    assert [batch.tolist() for batch in loader] == [[0, 1], [2, 3]]
