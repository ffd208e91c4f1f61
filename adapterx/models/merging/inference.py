"""Inference with a dynamic merge: route, merge, classify.

Routing modes (``p(x)`` the gate's probabilities of sample ``x``):

- ``'sample'`` (default): every sample is classified with the parameters
  ``sum_t p_t(x) theta_t`` of its own probabilities and the head they
  select. Samples are run together only when their probability vectors are
  identical, so the result is exactly that of running each sample alone;
  with a gate whose probabilities are one-hot (``hard=True``) the groups
  are the predicted tasks, while soft probabilities (all distinct) cost
  one forward pass per sample.
- ``'task'``: the batch is grouped by predicted task (argmax); each group
  runs with the mean probabilities of its samples (the per-batch rule
  applied to task-pure groups).
- ``'batch'``: one route per batch, the batch-mean probabilities (the
  reference: the authors' code, which assumes a task-pure batch).
"""
from dataclasses import dataclass
from typing import Dict, List, Mapping, Tuple

import torch
import torch.nn as nn
from torch import Tensor
from torch.func import functional_call

from .dynamic import DynamicMerge
from .gate import TaskGate
from .layout import ViTNaming

ROUTINGS = ('sample', 'task', 'batch')


def classifier_logits(model: nn.Module, parameters: Mapping[str, Tensor],
                      inputs: Tensor, naming: ViTNaming) -> Tensor:
    """The classifier's logits with ``parameters`` in place of its own (its
    buffers stay), the module itself unchanged."""
    return functional_call(model, dict(parameters), (inputs, ),
                           dict(naming.forward_kwargs))


def route(probabilities: Tensor, routing: str
          ) -> List[Tuple[Tensor, Tensor]]:
    """The groups of a batch: ``(sample indices, probabilities (T,) they
    run with)`` per group, following ``routing`` (module docstring)."""
    if routing not in ROUTINGS:
        raise ValueError(f'Unknown routing {routing!r}; known: {ROUTINGS}')
    if routing == 'batch':
        return [(torch.arange(len(probabilities)), probabilities.mean(0))]
    if routing == 'task':
        tasks = probabilities.argmax(1)
        return [(torch.nonzero(tasks == task).flatten(),
                 probabilities[tasks == task].mean(0))
                for task in tasks.unique()]
    rows, inverse = torch.unique(probabilities, dim=0, return_inverse=True)
    return [(torch.nonzero(inverse == index).flatten(), row)
            for index, row in enumerate(rows)]


@dataclass
class RoutedPrediction:
    """Attributes:
        probabilities (Tensor): ``(B, T)`` gate probabilities.
        tasks (Tensor): ``(B, )`` the task whose head classified each
            sample (task merging; the most probable one under the routing).
        logits (Tensor): ``(B, C_max)``; a head of fewer classes than the
            widest leaves ``-inf`` in the columns it lacks.
    """
    probabilities: Tensor
    tasks: Tensor
    logits: Tensor


class MergedViT(nn.Module):
    """A classifier whose dynamic parameters follow a gate.

    Args:
        model (nn.Module): The classifier architecture (its parameters are
            never used: every forward passes all of them).
        gate (TaskGate): Gives the task probabilities.
        merge (DynamicMerge): Static part, dynamic stacks, heads.
        naming (ViTNaming): The library mapping of ``model``.
        routing (str): One of :data:`ROUTINGS`.
        hard (bool): Use one-hot gate probabilities (argmax).
    """

    def __init__(self, model: nn.Module, gate: TaskGate, merge: DynamicMerge,
                 naming: ViTNaming, routing: str = 'sample',
                 hard: bool = False):
        super().__init__()
        if routing not in ROUTINGS:
            raise ValueError(f'Unknown routing {routing!r}; known: {ROUTINGS}')
        if gate.num_tasks != merge.num_tasks:
            raise ValueError(f'The gate has {gate.num_tasks} tasks, the '
                             f'merge {merge.num_tasks}')
        self.model = model
        self.gate = gate
        self.merge = merge
        self.naming = naming
        self.routing = routing
        self.hard = hard

    def task_probabilities(self, inputs: Tensor) -> Tensor:
        probabilities = self.gate.probabilities(inputs)
        if self.hard:
            probabilities = nn.functional.one_hot(
                probabilities.argmax(1), self.merge.num_tasks).to(
                    probabilities.dtype)
        return probabilities

    @torch.no_grad()
    def forward(self, inputs: Tensor,
                probabilities: Tensor = None) -> RoutedPrediction:
        """Classify ``inputs``; ``probabilities`` ``(B, T)`` replace the
        gate's when given."""
        if probabilities is None:
            probabilities = self.task_probabilities(inputs)
        outputs: Dict[int, Tensor] = {}
        tasks = torch.empty(len(inputs), dtype=torch.long)
        for indices, group_probabilities in route(probabilities,
                                                  self.routing):
            parameters = self.merge.parameters_for(group_probabilities)
            logits = classifier_logits(self.model, parameters,
                                       inputs[indices], self.naming)
            tasks[indices] = int(group_probabilities.argmax())
            for position, index in enumerate(indices.tolist()):
                outputs[index] = logits[position]
        width = max(logits.shape[-1] for logits in outputs.values())
        padded = torch.full((len(inputs), width), float('-inf'))
        for index, logits in outputs.items():
            padded[index, :logits.shape[-1]] = logits
        return RoutedPrediction(probabilities, tasks, padded)
