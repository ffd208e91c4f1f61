"""Python API: merge T ViT classifiers fine-tuned from one pretrained ViT.

    merger = ViTMerger(model, pretrained, finetuned)
    ties = merger.static('ties', density=0.2)
    ada = merger.adamerging(test_images)   # per task, unlabeled batches
    gate = TaskGate(num_tasks=T)
    train_gate(gate, batches)              # (images, task) batches
    similarity = merger.similarity('cosine')
    merged = merger.dynamic(ties, gate, m=2, similarity=similarity)
    prediction = merged(images)            # MergedViT, per-sample routing

``model`` is the classifier architecture (an mmpretrain classifier or a
timm ViT); its own parameters are not used. ``finetuned`` are the T
models' parameters (heads included, of any class counts), ``pretrained``
the shared parameters before fine-tuning (heads are ignored).
"""
from typing import Dict, Iterable, List, Mapping, Optional, Sequence

import torch.nn as nn
from torch import Tensor

from .adamerging import AdaMergingResult, adamerging
from .dynamic import DynamicMerge
from .gate import TaskGate
from .inference import MergedViT
from .layout import ParameterGroups, group_parameters
from .similarity import least_similar_units, unit_similarity
from .static import static_merge

StateDict = Mapping[str, Tensor]


def count_parameters(tensors) -> int:
    """Number of values in ``tensors`` (a mapping or an iterable)."""
    values = tensors.values() if isinstance(tensors, Mapping) else tensors
    return sum(value.numel() for value in values)


def relative_change(pretrained: StateDict, finetuned: StateDict) -> float:
    """``||theta_t - theta_pre|| / ||theta_pre||`` over the tensors of
    ``pretrained`` (float64)."""
    change = sum(float((finetuned[name].double() - value.double()).square()
                       .sum()) for name, value in pretrained.items())
    size = sum(float(value.double().square().sum())
               for value in pretrained.values())
    return (change / max(size, 1e-30))**0.5


class ViTMerger:
    """Static merges, weight similarity and dynamic merges of T models.

    Args:
        model (nn.Module): The classifier architecture.
        pretrained (Mapping[str, Tensor]): The weights every model was
            fine-tuned from (heads ignored).
        finetuned (Sequence[Mapping[str, Tensor]]): The T models.
        labels (Sequence[str], optional): How errors name the models (e.g.
            their files); default ``fine-tuned model <index>``.
        max_relative_change (float): A model whose shared weights differ
            from ``pretrained`` by more than this fraction of its norm
            (:func:`relative_change`) was not fine-tuned from it, and is
            refused. Fine-tuning moves weights by a few percent; two
            independent initialisations differ by about 1.4.

    Raises:
        ValueError: A model lacks a shared parameter of the architecture or
            has it in another shape, or was not fine-tuned from
            ``pretrained`` (the message names the model).
    """

    def __init__(self, model: nn.Module, pretrained: StateDict,
                 finetuned: Sequence[StateDict],
                 labels: Optional[Sequence[str]] = None,
                 max_relative_change: float = 0.5):
        if len(finetuned) < 2:
            raise ValueError(f'Merging needs at least 2 fine-tuned models, '
                             f'got {len(finetuned)}')
        labels = list(labels or [f'fine-tuned model {index}'
                                 for index in range(len(finetuned))])
        if len(labels) != len(finetuned):
            raise ValueError(f'{len(labels)} labels for {len(finetuned)} '
                             'fine-tuned models')
        self.model = model
        self.groups: ParameterGroups = group_parameters(
            dict(model.named_parameters()))
        shared = self.groups.shared
        for label, state in [('pretrained', pretrained)] + list(
                zip(labels, finetuned)):
            self._check_shared(label, state)
        self.pretrained = {name: pretrained[name] for name in shared}
        self.finetuned = [{
            name: state[name]
            for name in shared + self.groups.head
        } for state in finetuned]
        self.relative_changes = [relative_change(self.pretrained, state)
                                 for state in self.finetuned]
        far = [f'{label}: {change:.2f}' for label, change in zip(
            labels, self.relative_changes) if change > max_relative_change]
        if far:
            raise ValueError(
                f'Not fine-tuned from the pretrained weights: the shared '
                f'weights of {far} differ from them by more than '
                f'{max_relative_change} of their norm (fine-tuning moves '
                'them by a few percent). Give the weights these models '
                'were fine-tuned from, or a larger max_relative_change if '
                'they were trained that far')

    def _check_shared(self, label: str, state: StateDict) -> None:
        expected = dict(self.model.named_parameters())
        missing = [name for name in self.groups.shared if name not in state]
        if missing:
            raise ValueError(f'The {label} lacks {len(missing)} parameters '
                             f'of the architecture, e.g. {missing[:5]}')
        wrong = [f'{name}: {tuple(state[name].shape)} vs '
                 f'{tuple(expected[name].shape)}'
                 for name in self.groups.shared
                 if state[name].shape != expected[name].shape]
        if wrong:
            raise ValueError(f'The {label} has parameters of other shapes '
                             f'than the architecture: {wrong[:5]}')
        absent_head = [name for name in self.groups.head if name not in state]
        if absent_head and label != 'pretrained':
            raise ValueError(f'The {label} has no head parameters '
                             f'{absent_head}')

    @property
    def num_tasks(self) -> int:
        return len(self.finetuned)

    def shared_of(self, task: int) -> Dict[str, Tensor]:
        return {name: self.finetuned[task][name]
                for name in self.groups.shared}

    def head_of(self, task: int) -> Dict[str, Tensor]:
        return {name: self.finetuned[task][name] for name in self.groups.head}

    def static(self, method: str, **options) -> Dict[str, Tensor]:
        """A static merge of the shared parameters (see :mod:`.static`)."""
        return static_merge(method, self.pretrained,
                            [self.shared_of(task)
                             for task in range(self.num_tasks)], **options)

    def adamerging(self, batches: Sequence[Iterable[Tensor]],
                   granularity: str = 'layer', plus: bool = False,
                   **options) -> AdaMergingResult:
        """AdaMerging of the shared parameters (see :mod:`.adamerging`),
        learned on ``batches[t]``, task ``t``'s unlabeled (test) images,
        each through its own head; ``options``: ``density`` (AdaMerging++),
        ``steps``, ``lr``, ``init``."""
        return adamerging(self.model, self.groups.naming, self.pretrained,
                          [self.shared_of(task)
                           for task in range(self.num_tasks)],
                          [self.head_of(task)
                           for task in range(self.num_tasks)],
                          batches, granularity, plus, **options)

    def similarity(self, metric: str = 'cosine',
                   source: str = 'weights') -> Dict[str, float]:
        """Per attention / MLP unit the models' mean pairwise ``metric``."""
        return unit_similarity(self.groups, self.finetuned, metric, source,
                               self.pretrained)

    def dynamic_names(self, units: Sequence[str]) -> List[str]:
        """Embeddings, norms and the parameters of ``units``."""
        return list(self.groups.embeddings + self.groups.norms) + [
            name for unit in units for name in self.groups.units[unit]
        ]

    def dynamic_merge(self, static: StateDict, m: int,
                      similarity: Mapping[str, float],
                      metric: str = 'cosine',
                      head_mode: str = 'task') -> DynamicMerge:
        """The ``m`` least similar attention and MLP units, norms and
        embeddings dynamic, the rest from ``static``."""
        units = least_similar_units(self.groups, similarity, m, metric)
        return DynamicMerge(static, self.finetuned, self.dynamic_names(units),
                            self.groups.head, head_mode)

    def dynamic(self, static: StateDict, gate: TaskGate, m: int,
                similarity: Mapping[str, float], metric: str = 'cosine',
                head_mode: str = 'task', routing: str = 'sample',
                hard: bool = False) -> MergedViT:
        """A :class:`MergedViT` of :meth:`dynamic_merge` and ``gate``."""
        merge = self.dynamic_merge(static, m, similarity, metric, head_mode)
        return MergedViT(self.model, gate, merge, self.groups.naming,
                         routing, hard)

    def static_storage(self) -> int:
        """A static merge: the shared parameters once, plus the T heads
        (counted from the tensors)."""
        return count_parameters(self.pretrained) + sum(
            count_parameters(self.head_of(task))
            for task in range(self.num_tasks))

    @staticmethod
    def dynamic_storage(merge: DynamicMerge, gate: TaskGate) -> int:
        """A dynamic merge: its static part, T x its dynamic parameters and
        the heads (:meth:`DynamicMerge.storage`), plus the gate."""
        return sum(merge.storage().values()) + count_parameters(
            gate.parameters())

    def individual_storage(self) -> int:
        """The T fine-tuned models kept apart."""
        return sum(count_parameters(state) for state in self.finetuned)
