import random

import numpy as np
import torch
from mmengine.dist import get_rank


def seed_worker_generators(worker_id: int, rank: int = 0) -> None:
    """DataLoader ``worker_init_fn``: seed a worker's numpy, ``random`` and
    torch generators from the seed torch gave the worker and the rank.

    torch gives each worker ``base_seed + worker_id``, where ``base_seed``
    is drawn from the main process's generator whenever an iterator starts,
    i.e. every epoch (``EpochSeedHook`` makes that draw depend on the run's
    seed and the epoch only). mmengine's default ``worker_init_fn`` instead
    reseeds the workers from the run's seed alone, so non-persistent workers
    repeat the same augmentations every epoch. The rank enters because every
    rank draws the same ``base_seed``.
    """
    state = np.random.SeedSequence([torch.initial_seed(), rank,
                                    worker_id]).generate_state(2)
    np.random.seed(state)
    random.seed(int(state[0]))
    torch.manual_seed(int(state[0]) << 32 | int(state[1]))


def with_worker_seeding(dataloader_cfg):
    """The dataloader config with :func:`seed_worker_generators` as its
    ``worker_init_fn``, unless it names one of its own."""
    if not isinstance(dataloader_cfg, dict) or \
            'worker_init_fn' in dataloader_cfg:
        return dataloader_cfg
    return dict(
        dataloader_cfg,
        worker_init_fn=dict(type=seed_worker_generators, rank=get_rank()))
