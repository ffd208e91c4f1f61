from .epoch_seed_hook import EpochSeedHook
from .parameter_freeze_hook import ParameterFreezeHook
from .rank_consistency_hook import RankConsistencyHook, find_rank_divergence
from .trainable_checkpoint_hook import TrainableCheckpointHook

__all__ = [
    'EpochSeedHook', 'ParameterFreezeHook', 'RankConsistencyHook',
    'TrainableCheckpointHook', 'find_rank_divergence'
]
