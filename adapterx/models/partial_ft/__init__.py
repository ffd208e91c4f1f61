"""Partial fine-tuning (arXiv 2312.15681): residual units, the eight
strategies, the fine-tuned angle, and soups of partial fine-tuning runs."""
from .angle import (checkpoint_unit_angles, rank_units, select_by_angle,
                    unit_angles, weight_angle)
from .soups import (GreedySoup, check_held_out, check_ingredients,
                    dataset_holds, greedy_soup, ingredient_states,
                    pretrained_checkpoint_of, same_weights_file,
                    uniform_soup, unit_mean_soup)
from .method import PartialFineTune
from .strategies import (STRATEGIES, PartialFineTuneStrategy, get_strategy,
                         norm_and_bias_patterns, strategy_units)
from .units import ResidualUnit, find_residual_units, group_units, pick_units

__all__ = [
    'ResidualUnit', 'find_residual_units', 'group_units',
    'pick_units', 'STRATEGIES', 'PartialFineTuneStrategy', 'get_strategy',
    'strategy_units', 'norm_and_bias_patterns', 'PartialFineTune',
    'weight_angle', 'unit_angles', 'rank_units', 'select_by_angle',
    'checkpoint_unit_angles', 'pretrained_checkpoint_of',
    'same_weights_file', 'check_ingredients', 'dataset_holds',
    'check_held_out', 'ingredient_states', 'uniform_soup', 'unit_mean_soup',
    'GreedySoup', 'greedy_soup'
]
