"""Weight similarity of the T models per block unit (attention and MLP
apart), and the choice of the least similar units.

A unit's vector for model t is the concatenation of the unit's tensors,
flattened, in float64: the raw fine-tuned weights ``theta_t`` (the
default, as the authors' code does) or the task vector
``theta_t - theta_pre``. The unit's score is the mean over the T(T-1)/2
pairs of models of

- ``cosine``: cosine similarity (1 for identical vectors);
- ``l1`` / ``l2``: the L1 / L2 distance (0 for identical vectors).

Cosine is a similarity and the distances are dissimilarities, so "least
similar" means the lowest cosine or the largest distance.
"""
from itertools import combinations
from typing import Dict, List, Mapping, Optional, Sequence

import torch
from torch import Tensor

from .layout import KINDS, ParameterGroups

METRICS = ('cosine', 'l1', 'l2')
SOURCES = ('weights', 'task_vectors')


def _pair_score(first: Tensor, second: Tensor, metric: str,
                label: str) -> float:
    if metric == 'cosine':
        norms = first.norm() * second.norm()
        if norms == 0:
            raise ValueError(f'{label}: cosine similarity of an all-zero '
                             'vector is undefined (an unchanged unit\'s task '
                             "vector?); use metric='l1' or 'l2'")
        return float(first @ second / norms)
    order = 1 if metric == 'l1' else 2
    return float((first - second).norm(p=order))


def mean_pairwise(vectors: Sequence[Tensor], metric: str = 'cosine',
                  label: str = 'vectors') -> float:
    """Mean of ``metric`` over all pairs of ``vectors`` (1-D tensors).

    Raises:
        ValueError: Unknown metric, fewer than two vectors, or an all-zero
            vector under cosine; ``label`` names the unit.
    """
    if metric not in METRICS:
        raise ValueError(f'Unknown similarity metric {metric!r}; known: '
                         f'{METRICS}')
    if len(vectors) < 2:
        raise ValueError(f'{label}: similarity needs at least two models')
    scores = [_pair_score(first, second, metric, label)
              for first, second in combinations(vectors, 2)]
    return sum(scores) / len(scores)


def unit_similarity(groups: ParameterGroups,
                    finetuned: Sequence[Mapping[str, Tensor]],
                    metric: str = 'cosine', source: str = 'weights',
                    pretrained: Optional[Mapping[str, Tensor]] = None
                    ) -> Dict[str, float]:
    """The mean pairwise ``metric`` of every attention and MLP unit, by
    unit name (depth order).

    Raises:
        ValueError: Unknown ``source``, or ``task_vectors`` without
            ``pretrained``.
    """
    if source not in SOURCES:
        raise ValueError(f'Unknown similarity source {source!r}; known: '
                         f'{SOURCES}')
    if source == 'task_vectors' and pretrained is None:
        raise ValueError('Similarity of task vectors needs the pretrained '
                         'weights')

    def vector(state, names):
        flat = torch.cat([state[name].detach().reshape(-1).double()
                          for name in names])
        if source == 'task_vectors':
            flat = flat - torch.cat([pretrained[name].detach().reshape(
                -1).double() for name in names])
        return flat

    return {
        unit: mean_pairwise([vector(state, names) for state in finetuned],
                            metric, label=unit)
        for unit, names in groups.units.items()
    }


def least_similar_units(groups: ParameterGroups,
                        similarity: Mapping[str, float], m: int,
                        metric: str = 'cosine') -> List[str]:
    """The ``m`` least similar attention units and the ``m`` least similar
    MLP units (ties in depth order), in depth order.

    Raises:
        ValueError: ``m`` is negative or exceeds the number of blocks.
    """
    chosen = set()
    for kind in KINDS:
        units = groups.units_of(kind)
        if not 0 <= m <= len(units):
            raise ValueError(
                f'm={m} must be between 0 and the {len(units)} {kind} units '
                'of the model')
        sign = 1 if metric == 'cosine' else -1
        ranked = sorted(units, key=lambda unit: sign * similarity[unit])
        chosen.update(ranked[:m])
    return [unit for unit in groups.units if unit in chosen]
