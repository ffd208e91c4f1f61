"""DataLoader workers draw new augmentations every epoch (mmengine's
default seeding repeats them with non-persistent workers), the same ones on
a rerun of that epoch, and different ones on another rank."""
import numpy as np
import torch
from mmengine.registry import DATASETS
from torch.utils.data import Dataset

from adapterx.engine import PeftRunner
from adapterx.engine.worker_seeding import seed_worker_generators


@DATASETS.register_module(force=True)
class NumpyDraws(Dataset):
    """Each item is a draw from numpy's global generator, as the random
    point and image transforms make."""

    def __len__(self):
        return 4

    def __getitem__(self, index):
        return float(np.random.rand())


def epoch_draws(epoch_seed, rank=0):
    loader_cfg = dict(
        dataset=dict(type='NumpyDraws'),
        sampler=dict(type='DefaultSampler', shuffle=False),
        batch_size=4,
        num_workers=1,
        persistent_workers=False,
        collate_fn=dict(type='default_collate'))
    if rank:
        loader_cfg['worker_init_fn'] = dict(
            type=seed_worker_generators, rank=rank)
    loader = PeftRunner.build_dataloader(loader_cfg, seed=0)
    torch.manual_seed(epoch_seed)  # what EpochSeedHook does per epoch
    return next(iter(loader)).tolist()


def test_workers_draw_anew_each_epoch_and_repeat_on_a_rerun():
    first_epoch, second_epoch = epoch_draws(1), epoch_draws(2)
    assert first_epoch != second_epoch
    assert epoch_draws(1) == first_epoch
    assert len(set(first_epoch)) == 4


def test_ranks_draw_differently_from_the_same_epoch_seed():
    assert epoch_draws(1, rank=1) != epoch_draws(1, rank=0)
