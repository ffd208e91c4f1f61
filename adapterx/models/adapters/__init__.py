"""Modules that PEFT wrappers inject into backbones, registered in
``adapterx.registry.ADAPTERS``."""
from .prompt_generator import PromptGenerator
from .scaling import DynamicTokenScale
from .smoa import (RoutingResult, SharedExpertPool, SMoA, TokenRouter,
                   switch_balance_loss)

__all__ = [
    'SharedExpertPool', 'TokenRouter', 'RoutingResult', 'SMoA',
    'switch_balance_loss', 'PromptGenerator', 'DynamicTokenScale'
]
