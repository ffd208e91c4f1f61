"""Whether a backward pass computes gradients of frozen weights, read from
the operators it actually runs (torch.profiler), not from requires_grad.

A linear layer ``y = x W^T`` with ``x`` of T tokens costs two matrix
products in backward: ``dx = dy W`` (output T x in) and ``dW = dy^T x``
(output out x in, summed over the T tokens). Autograd should skip the
second for a frozen ``W``. Every backward ``mm``/``addmm`` whose output
has the shape of a 2-D parameter (or its transpose) is such a weight
gradient; if that shape belongs to frozen parameters only, a frozen weight
got a gradient. A shape that a trainable parameter could also produce (the
same number of elements, e.g. an expert pool reshaped to 2-D) is reported
as ambiguous instead of being counted either way.

Not covered: convolution weights (their backward is one fused operator
whose output mask the profiler does not record) and 1-D parameters (norms,
biases: reductions, not matrix products). The check also assumes the
number of tokens T differs from every weight dimension (else an input
gradient could have a weight's shape).
"""
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Tuple

import torch
import torch.nn as nn
from torch.profiler import ProfilerActivity, profile

MATMUL_OPS = ('aten::mm', 'aten::addmm')


@dataclass
class FrozenGradientReport:
    """Backward matrix products sorted by which weights they could be the
    gradient of (shapes as (rows, cols) of the product's output)."""
    frozen_weights: int  # frozen 2-D parameters checked
    trainable_weights: int
    frozen_weight_gradients: Dict[str, int] = field(default_factory=dict)
    trainable_weight_gradients: Dict[str, int] = field(default_factory=dict)
    ambiguous: Dict[str, int] = field(default_factory=dict)

    @property
    def computes_frozen_gradients(self) -> bool:
        return bool(self.frozen_weight_gradients)

    def summary(self) -> str:
        def total(counts):
            return sum(counts.values())

        text = (f'{total(self.frozen_weight_gradients)} backward matmul(s) '
                f"formed a frozen weight's gradient ({self.frozen_weights} "
                f'frozen 2-D weights checked); '
                f'{total(self.trainable_weight_gradients)} formed a '
                f"trainable parameter's ({self.trainable_weights} trainable "
                '2-D weights; a shared or reshaped one can take several)')
        if self.ambiguous:
            text += (f', {total(self.ambiguous)} ambiguous (shapes '
                     f'{sorted(self.ambiguous)} fit a frozen weight and a '
                     'trainable parameter)')
        return text


def _output_shape(event) -> Tuple[int, int]:
    # mm(a, b) and addmm(bias, a, b): the last two inputs are the factors.
    first, second = event.input_shapes[-2:]
    return first[0], second[1]


def _weight_shapes(model: nn.Module):
    """The shapes of the frozen 2-D parameters (both orientations), the
    element counts of the trainable parameters (any shape: an expert
    pool's (N, d, r) tensor takes part in a product as (d, N*r)), and the
    number of trainable 2-D parameters."""
    frozen, trainable_numels, trainable = set(), set(), 0
    for parameter in model.parameters():
        if parameter.requires_grad:
            trainable_numels.add(parameter.numel())
            trainable += parameter.dim() == 2
        elif parameter.dim() == 2:
            rows, cols = parameter.shape
            frozen |= {(rows, cols), (cols, rows)}
    return frozen, trainable_numels, trainable


def backward_matmul_shapes(loss: torch.Tensor) -> List[Tuple[int, int]]:
    """Output shapes of the matrix products ``loss.backward()`` runs."""
    with profile(activities=[ProfilerActivity.CPU],
                 record_shapes=True) as profiler:
        loss.backward()
    return [
        _output_shape(event) for event in profiler.events()
        if event.name in MATMUL_OPS and len(event.input_shapes) >= 2
    ]


def check_frozen_gradients(model: nn.Module,
                           compute_loss: Callable[[], torch.Tensor]
                           ) -> FrozenGradientReport:
    """Profile one backward of ``compute_loss()`` and sort its weight
    gradients by the frozen / trainable parameters they fit."""
    frozen, trainable_numels, trainable = _weight_shapes(model)
    report = FrozenGradientReport(
        frozen_weights=sum(p.dim() == 2 and not p.requires_grad
                           for p in model.parameters()),
        trainable_weights=trainable)
    for rows, cols in backward_matmul_shapes(compute_loss()):
        fits_frozen = (rows, cols) in frozen
        fits_trainable = rows * cols in trainable_numels
        if fits_frozen and fits_trainable:
            target = report.ambiguous
        elif fits_frozen:
            target = report.frozen_weight_gradients
        elif fits_trainable:
            target = report.trainable_weight_gradients
        else:
            continue  # an input gradient (T x in) or an activation product
        key = f'{rows}x{cols}'
        target[key] = target.get(key, 0) + 1
    model.zero_grad(set_to_none=True)
    return report
