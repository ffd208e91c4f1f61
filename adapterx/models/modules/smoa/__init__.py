from .expert_pool import SharedExpertPool
from .router import RoutingResult, TokenRouter, switch_balance_loss
from .smoa import SMoA

__all__ = [
    'SharedExpertPool', 'TokenRouter', 'RoutingResult', 'SMoA',
    'switch_balance_loss'
]
