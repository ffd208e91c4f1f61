"""AdaMerging (Yang et al., ICLR 2024): task arithmetic whose coefficients
are learned, at test time, by minimising the entropy of the merged model's
predictions on the tasks' unlabeled test images.

With ``theta_pre`` the pretrained weights and ``tau_t`` the task vectors,
the merged parameters are ``theta_pre + sum_t lambda_t tau_t`` with

- task-wise coefficients: one ``lambda_t`` per task;
- layer-wise coefficients: one ``lambda_{t,l}`` per task and parameter
  tensor ``l``. The paper calls ``l`` a layer; its released code gives
  every parameter tensor (a weight, a bias, a norm's scale) its own
  coefficient, and the paper's numbers come from that code, so a "layer"
  here is a tensor, not a block.

The coefficients start at 0.3 (the task-arithmetic choice the paper starts
from), are trained with Adam (lr 1e-3) on the sum over tasks of the mean
prediction entropy of a batch of each task's unlabeled images (task ``t``'s
images through the merged body and task ``t``'s own head), and are kept in
[0, 1] by projecting them back after every step (a clamp inside the
forward pass, as the released code does, would leave a coefficient that
crossed a bound without gradient for good).

AdaMerging++ does the same on the TIES-trimmed task vectors
(:func:`~.static.ties_vectors`: trimmed to their largest entries, entries
against the elected sign zeroed).

Protocol: the method adapts to the test inputs (test-time adaptation). It
reads the test images, never their labels; it is not comparable to a merge
tuned without them, and reports say so.
"""
from dataclasses import dataclass
from typing import Dict, Iterable, Iterator, List, Mapping, Sequence

import torch
import torch.nn as nn
from torch import Tensor

from .dynamic import mix
from .inference import classifier_logits
from .layout import ViTNaming
from .static import task_vectors, ties_vectors

StateDict = Mapping[str, Tensor]
GRANULARITIES = ('task', 'layer')
# method name in the merge tool -> (granularity, on TIES-trimmed vectors)
ADAMERGING_METHODS = {
    'task_wise_adamerging': ('task', False),
    'task_wise_adamerging++': ('task', True),
    'layer_wise_adamerging': ('layer', False),
    'layer_wise_adamerging++': ('layer', True),
}


def prediction_entropy(logits: Tensor) -> Tensor:
    """Mean Shannon entropy (nats) of the softmax of ``logits`` ``(B, C)``."""
    log_probabilities = logits.log_softmax(-1)
    return -(log_probabilities.exp() * log_probabilities).sum(-1).mean()


@dataclass
class AdaMergingResult:
    """Attributes:
        merged (dict[str, Tensor]): The merged shared parameters, in the
            pretrained weights' dtypes.
        coefficients (Tensor): The learned ``(T, L)`` coefficients (L = 1
            task-wise, the number of shared tensors layer-wise).
        names (list[str]): The tensor of each column (layer-wise).
        entropies (list[float]): Per step, the loss before the step (sum
            over tasks of the mean entropy), then the loss after the last
            step on the next batches: ``steps + 1`` values.
    """
    merged: Dict[str, Tensor]
    coefficients: Tensor
    names: List[str]
    entropies: List[float]


class AdaMerging:
    """Learnable merging coefficients over task vectors.

    Args:
        model (nn.Module): The classifier architecture (its parameters are
            never used).
        naming (ViTNaming): Its library mapping.
        pretrained (Mapping[str, Tensor]): The shared pretrained tensors.
        vectors (Sequence[Mapping[str, Tensor]]): Per task, its (possibly
            trimmed) task vector over the same names.
        heads (Sequence[Mapping[str, Tensor]]): Per task, its head.
        granularity (str): ``'task'`` or ``'layer'`` (module docstring).
        init (float): Every coefficient's start.

    Raises:
        ValueError: Unknown granularity, an ``init`` outside [0, 1], or
            vectors and heads of different task counts.
    """

    def __init__(self, model: nn.Module, naming: ViTNaming,
                 pretrained: StateDict, vectors: Sequence[StateDict],
                 heads: Sequence[StateDict], granularity: str = 'layer',
                 init: float = 0.3):
        if granularity not in GRANULARITIES:
            raise ValueError(f'Unknown AdaMerging granularity '
                             f'{granularity!r}; known: {GRANULARITIES}')
        if not 0 <= init <= 1:
            raise ValueError(f'AdaMerging coefficients live in [0, 1]; '
                             f'init={init}')
        if len(vectors) != len(heads):
            raise ValueError(f'{len(vectors)} task vectors but '
                             f'{len(heads)} heads')
        self.model = model
        self.naming = naming
        self.names = list(pretrained)
        self.pretrained = {name: value.detach()
                           for name, value in pretrained.items()}
        self.stacked = {
            name: torch.stack([vector[name] for vector in vectors]).to(
                value.dtype)
            for name, value in self.pretrained.items()
        }
        self.heads = [{name: value.detach() for name, value in head.items()}
                      for head in heads]
        columns = 1 if granularity == 'task' else len(self.names)
        self.coefficients = torch.full((len(vectors), columns), float(init))

    @property
    def num_tasks(self) -> int:
        return len(self.heads)

    def parameters_for(self, coefficients: Tensor) -> Dict[str, Tensor]:
        """``theta_pre + sum_t coefficients[t, l] tau_t`` per tensor ``l``;
        ``coefficients`` is ``(T, 1)`` (every tensor alike) or ``(T, L)``.
        """
        if coefficients.shape not in ((self.num_tasks, 1),
                                      (self.num_tasks, len(self.names))):
            raise ValueError(
                f'Expected coefficients of shape ({self.num_tasks}, 1) or '
                f'({self.num_tasks}, {len(self.names)}), got '
                f'{tuple(coefficients.shape)}')
        task_wise = coefficients.shape[1] == 1
        return {
            name: value + mix(self.stacked[name],
                              coefficients[:, 0 if task_wise else column])
            for column, (name, value) in enumerate(self.pretrained.items())
        }

    def loss(self, coefficients: Tensor, inputs: Sequence[Tensor]) -> Tensor:
        """Sum over tasks of the mean prediction entropy of ``inputs[t]``
        (task ``t``'s images) through the merge and task ``t``'s head."""
        merged = self.parameters_for(coefficients)
        return sum(
            prediction_entropy(classifier_logits(
                self.model, {**merged, **self.heads[task]}, images,
                self.naming))
            for task, images in enumerate(inputs))

    def fit(self, batches: Sequence[Iterable[Tensor]], steps: int,
            lr: float = 1e-3) -> List[float]:
        """Learn the coefficients: ``steps`` Adam steps, each on the next
        batch of images of every task (``batches[t]`` is iterated again
        when it runs out). Returns the losses
        (:attr:`AdaMergingResult.entropies`).

        Raises:
            ValueError: Not one image source per task, or a task's source
                gives no batch.
        """
        if len(batches) != self.num_tasks:
            raise ValueError(f'AdaMerging needs one image source per task: '
                             f'{len(batches)} for {self.num_tasks} tasks')
        streams = [_cycle(source, task) for task, source in enumerate(batches)]
        coefficients = nn.Parameter(self.coefficients.clone())
        optimizer = torch.optim.Adam([coefficients], lr=lr)
        entropies = []
        for _ in range(steps):
            loss = self.loss(coefficients, [next(stream)
                                            for stream in streams])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            with torch.no_grad():
                coefficients.clamp_(0, 1)
            entropies.append(loss.item())
        with torch.no_grad():
            entropies.append(self.loss(coefficients, [
                next(stream) for stream in streams]).item())
        self.coefficients = coefficients.detach()
        return entropies

    def merged(self) -> Dict[str, Tensor]:
        """The merge of the current coefficients."""
        with torch.no_grad():
            return self.parameters_for(self.coefficients)


def _cycle(source: Iterable[Tensor], task: int) -> Iterator[Tensor]:
    while True:
        empty = True
        for images in source:
            empty = False
            yield images
        if empty:
            raise ValueError(f'AdaMerging got no image batch of task {task}')


def adamerging(model: nn.Module, naming: ViTNaming, pretrained: StateDict,
               finetuned: Sequence[StateDict], heads: Sequence[StateDict],
               batches: Sequence[Iterable[Tensor]],
               granularity: str = 'layer', plus: bool = False,
               density: float = 0.2, steps: int = 100, lr: float = 1e-3,
               init: float = 0.3) -> AdaMergingResult:
    """AdaMerging (``plus``: AdaMerging++ on TIES vectors of ``density``)
    of the shared parameters ``finetuned`` (same names as ``pretrained``),
    trained on ``batches[t]``, task ``t``'s unlabeled images (module
    docstring)."""
    vectors = (ties_vectors(pretrained, finetuned, density) if plus
               else task_vectors(pretrained, finetuned))
    merging = AdaMerging(model, naming, pretrained, vectors, heads,
                         granularity, init)
    entropies = merging.fit(batches, steps, lr)
    return AdaMergingResult(merging.merged(), merging.coefficients,
                            merging.names, entropies)
