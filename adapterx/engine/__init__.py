from .checkpoint import load_runner_checkpoint
from .hooks import EpochSeedHook, RankConsistencyHook, find_rank_divergence
from .random_state import capture_random_state, restore_random_state
from .runner import PeftRunner

__all__ = [
    'PeftRunner', 'EpochSeedHook', 'RankConsistencyHook',
    'find_rank_divergence', 'load_runner_checkpoint', 'capture_random_state',
    'restore_random_state'
]
