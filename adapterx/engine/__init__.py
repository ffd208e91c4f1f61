# Documented in the README as adapterx.engine.load_checkpoint.
from adapterx.checkpoint.loading import load_checkpoint
from .hooks import (EpochSeedHook, ParameterFreezeHook, RankConsistencyHook,
                    TrainableCheckpointHook, find_rank_divergence)
from .loops import ResumableEpochBasedTrainLoop, ResumableIterBasedTrainLoop
from .optim_wrappers import (GuardedAmpOptimWrapper, GuardedOptimWrapper,
                             NonFiniteLossError, NonFiniteLossGuard)
from .random_state import capture_random_state, restore_random_state
from .runner import PeftRunner

__all__ = [
    'PeftRunner', 'ResumableEpochBasedTrainLoop',
    'ResumableIterBasedTrainLoop', 'EpochSeedHook', 'ParameterFreezeHook', 'RankConsistencyHook',
    'find_rank_divergence', 'capture_random_state',
    'restore_random_state', 'TrainableCheckpointHook',
    'GuardedOptimWrapper', 'GuardedAmpOptimWrapper', 'NonFiniteLossError',
    'NonFiniteLossGuard', 'load_checkpoint'
]
