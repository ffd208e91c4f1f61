"""The eight partial fine-tuning strategies: which residual units train.

The head always trains (the classifier adds it); a strategy names the rest.
Two strategies are the paper's (arXiv 2312.15681), six are ours:

==========================  ======  ==========================================
strategy                    origin  trains (besides the head)
==========================  ======  ==========================================
``attention_only``          paper   the attention unit of every block
``ffn_only``                paper   the FFN unit of every block
``head_only``               ours    nothing (a linear probe)
``first_half``              ours    both units of the blocks of the first half
``last_half``               ours    both units of the blocks of the last half
``attention_last_half``     ours    the attention units of the last half
``ffn_last_half``           ours    the FFN units of the last half
``norms_and_biases``        ours    every norm layer's weights and every bias
==========================  ======  ==========================================

Halves are taken over all blocks in depth order (for Swin across stages): of
``n`` blocks the first ``n // 2`` are the first half and the rest the last
half, so with an odd count the middle block is in the last half.

The unit strategies train block units only: the patch embedding, class token,
position embedding, Swin's patch merging layers and the final norm stay
frozen. ``norms_and_biases`` is not unit-based: it trains the weights of
every normalisation layer of the model (the blocks' norms, a Swin patch
embedding's and patch merging's norms, the final norm) and every parameter
named ``bias`` (BitFit's set), and nothing else (Swin's relative position
bias tables are weights, not biases, and stay frozen).
"""
import re
from dataclasses import dataclass
from typing import List, Sequence, Tuple

import torch.nn as nn

from .units import ResidualUnit

NORM_LAYER_TYPES = (nn.LayerNorm, nn.GroupNorm, nn.RMSNorm,
                    nn.modules.batchnorm._BatchNorm)


@dataclass(frozen=True)
class PartialFineTuneStrategy:
    """A named choice of trainable units.

    Attributes:
        name (str): The config value.
        origin (str): ``'paper'`` or ``'ours'``.
        kinds (tuple[str]): Unit kinds that train.
        blocks (str): ``'all'``, ``'first_half'`` or ``'last_half'``.
        norms_and_biases (bool): Train norm weights and biases instead of
            units.
    """
    name: str
    origin: str
    kinds: Tuple[str, ...] = ()
    blocks: str = 'all'
    norms_and_biases: bool = False


STRATEGIES = {
    strategy.name: strategy
    for strategy in (
        PartialFineTuneStrategy('attention_only', 'paper', ('attention', )),
        PartialFineTuneStrategy('ffn_only', 'paper', ('ffn', )),
        PartialFineTuneStrategy('head_only', 'ours'),
        PartialFineTuneStrategy('first_half', 'ours', ('attention', 'ffn'),
                                'first_half'),
        PartialFineTuneStrategy('last_half', 'ours', ('attention', 'ffn'),
                                'last_half'),
        PartialFineTuneStrategy('attention_last_half', 'ours',
                                ('attention', ), 'last_half'),
        PartialFineTuneStrategy('ffn_last_half', 'ours', ('ffn', ),
                                'last_half'),
        PartialFineTuneStrategy('norms_and_biases', 'ours',
                                norms_and_biases=True),
    )
}


def get_strategy(name: str) -> PartialFineTuneStrategy:
    """The strategy called ``name``.

    Raises:
        ValueError: Unknown name (the message lists the valid ones).
    """
    if name not in STRATEGIES:
        raise ValueError(
            f'Unknown partial fine-tuning strategy {name!r}; valid '
            f'strategies: {list(STRATEGIES)}')
    return STRATEGIES[name]


def strategy_units(units: Sequence[ResidualUnit],
                   name: str) -> List[ResidualUnit]:
    """The units that strategy ``name`` trains, in depth order."""
    strategy = get_strategy(name)
    num_blocks = len({unit.block_index for unit in units})
    half = num_blocks // 2
    in_blocks = {
        'all': lambda index: True,
        'first_half': lambda index: index < half,
        'last_half': lambda index: index >= half,
    }[strategy.blocks]
    return [
        unit for unit in units
        if unit.kind in strategy.kinds and in_blocks(unit.block_index)
    ]


def norm_and_bias_patterns(model: nn.Module) -> List[str]:
    """Patterns for every norm layer's parameters and every bias."""
    norm_modules = [
        name for name, module in model.named_modules()
        if isinstance(module, NORM_LAYER_TYPES) and any(
            True for _ in module.parameters(recurse=False))
    ]
    return [r'(^|\.)bias$'] + [
        f'^{re.escape(name)}\\.[^.]+$' for name in norm_modules
    ]
