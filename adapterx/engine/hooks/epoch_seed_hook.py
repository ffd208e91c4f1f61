import random

import numpy as np
import torch
from mmengine.hooks import Hook

from adapterx.registry import HOOKS


@HOOKS.register_module()
class EpochSeedHook(Hook):
    """Seed the global generators at the start of every training epoch from
    the run's seed and the epoch number.

    What an epoch draws (dropout and drop-path masks, augmentation, the
    DataLoader's worker seeds) then depends on the seed and the epoch only,
    not on what ran before it. Validation also draws from the global
    generator (each DataLoader iterator takes a seed from it), and a run
    resumed at an epoch boundary skips the validation an uninterrupted run
    did just after saving; without reseeding the two runs would diverge.
    """

    priority = 'VERY_HIGH'

    def before_train_epoch(self, runner) -> None:
        seed = runner.seed if runner.seed is not None else 0
        sequence = np.random.SeedSequence([seed, runner.epoch])
        epoch_seed = int(sequence.generate_state(1)[0])
        random.seed(epoch_seed)
        np.random.seed(epoch_seed)
        torch.manual_seed(epoch_seed)
