from .checkpoint import load_runner_checkpoint
from .hooks import (EpochSeedHook, ParameterFreezeHook, RankConsistencyHook,
                    TrainableCheckpointHook, find_rank_divergence)
from .model_loading import apply_checkpoint, load_checkpoint
from .loops import ResumableEpochBasedTrainLoop, ResumableIterBasedTrainLoop
from .optim_wrappers import (GuardedAmpOptimWrapper, GuardedOptimWrapper,
                             NonFiniteLossError, NonFiniteLossGuard)
from .random_state import capture_random_state, restore_random_state
from .runner import PeftRunner
from .trainable_weights import (load_trainable_state_dict,
                                trainable_state_dict)

__all__ = [
    'PeftRunner', 'ResumableEpochBasedTrainLoop',
    'ResumableIterBasedTrainLoop', 'EpochSeedHook', 'ParameterFreezeHook', 'RankConsistencyHook',
    'find_rank_divergence', 'load_runner_checkpoint', 'capture_random_state',
    'restore_random_state', 'TrainableCheckpointHook',
    'trainable_state_dict', 'load_trainable_state_dict',
    'GuardedOptimWrapper', 'GuardedAmpOptimWrapper', 'NonFiniteLossError',
    'NonFiniteLossGuard', 'apply_checkpoint', 'load_checkpoint'
]
