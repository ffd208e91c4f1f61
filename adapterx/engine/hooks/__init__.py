from .epoch_seed_hook import EpochSeedHook
from .rank_consistency_hook import RankConsistencyHook, find_rank_divergence

__all__ = ['EpochSeedHook', 'RankConsistencyHook', 'find_rank_divergence']
