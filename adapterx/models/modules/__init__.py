"""Reusable modules that PEFT methods put into backbones. The ones built
from configs are registered in ``adapterx.registry.ADAPTERS``."""
from .prompt_generator import PromptGenerator
from .scale_shift import ScaleShift, scale_and_shift_outputs
from .scaling import DynamicTokenScale
from .smoa import (RoutingResult, SharedExpertPool, SMoA, TokenRouter,
                   switch_balance_loss)

__all__ = [
    'SharedExpertPool', 'TokenRouter', 'RoutingResult', 'SMoA',
    'switch_balance_loss', 'PromptGenerator', 'DynamicTokenScale',
    'ScaleShift', 'scale_and_shift_outputs'
]
