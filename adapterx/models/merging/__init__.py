"""Merging ViTs fine-tuned on different tasks or domains (arXiv 2312.16240):
static merges, AdaMerging, the gating network, weight similarity per
block, and the controllable, combined dynamic merge with per-sample
routing."""
from .adamerging import (ADAMERGING_METHODS, GRANULARITIES, AdaMerging,
                         AdaMergingResult, adamerging, prediction_entropy)
from .api import ViTMerger, count_parameters, relative_change
from .data import (GatePool, PreprocessedBatches, UnlabeledImages,
                   capped_indices)
from .dynamic import HEAD_MODES, DynamicMerge, mix
from .gate import ARCHS, TaskGate, train_gate
from .inference import (ROUTINGS, MergedViT, RoutedPrediction,
                        classifier_logits, route)
from .layout import (KINDS, VIT_NAMINGS, ParameterGroups, ViTNaming,
                     group_parameters)
from .similarity import (METRICS, SOURCES, least_similar_units,
                         mean_pairwise, unit_similarity)
from .static import (STATIC_MERGES, static_merge, task_arithmetic,
                     task_vectors, ties_merge, ties_vectors,
                     weight_average)

__all__ = [
    'ADAMERGING_METHODS', 'GRANULARITIES', 'AdaMerging', 'AdaMergingResult',
    'adamerging', 'prediction_entropy',
    'ViTMerger', 'count_parameters', 'relative_change', 'GatePool', 'PreprocessedBatches',
    'UnlabeledImages',
    'capped_indices', 'HEAD_MODES', 'DynamicMerge', 'mix',
    'ARCHS', 'TaskGate', 'train_gate', 'ROUTINGS', 'MergedViT',
    'RoutedPrediction', 'classifier_logits', 'route', 'KINDS',
    'VIT_NAMINGS', 'ParameterGroups', 'ViTNaming', 'group_parameters',
    'METRICS', 'SOURCES', 'least_similar_units', 'mean_pairwise',
    'unit_similarity', 'STATIC_MERGES', 'static_merge', 'task_arithmetic',
    'task_vectors', 'ties_merge', 'ties_vectors', 'weight_average'
]
