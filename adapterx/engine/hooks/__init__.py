from .atomic_checkpoint_hook import AtomicCheckpointHook
from .epoch_seed_hook import EpochSeedHook
from .ewa_hook import DenseConversionHook, EWAHook
from .parameter_freeze_hook import ParameterFreezeHook
from .partial_finetune_hook import PartialFineTuneHook
from .progress_bar_hook import ProgressBarHook
from .rank_consistency_hook import RankConsistencyHook, find_rank_divergence
from .trainable_checkpoint_hook import TrainableCheckpointHook

__all__ = [
    'AtomicCheckpointHook',
    'DenseConversionHook', 'EpochSeedHook', 'EWAHook', 'ParameterFreezeHook',
    'PartialFineTuneHook', 'ProgressBarHook', 'RankConsistencyHook',
    'TrainableCheckpointHook', 'find_rank_divergence'
]
