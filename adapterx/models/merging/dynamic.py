"""The parameters of a dynamic (controllable, combined) merge.

A dynamic merge keeps:

- the static merge of every shared parameter that is not dynamic;
- for every dynamic parameter (embeddings, norms and the chosen attention
  and MLP units) the T fine-tuned tensors, stacked, so that for task
  probabilities ``p`` the parameter is ``sum_t p_t theta_t``;
- the T heads: for task merging (each task its own labels) the head of the
  most probable task; for domain merging (shared labels) the heads mixed
  with ``p`` like the dynamic parameters.

With one-hot ``p`` the dynamic parameters and the head are exactly the
selected task's.
"""
from typing import Dict, Mapping, Sequence

import torch
from torch import Tensor

HEAD_MODES = ('task', 'domain')


def mix(stacked: Tensor, probabilities: Tensor) -> Tensor:
    """``sum_t p_t stacked[t]`` for ``stacked`` of shape ``(T, ...)``."""
    weights = probabilities.to(stacked.dtype).reshape(
        -1, *([1] * (stacked.dim() - 1)))
    return (weights * stacked).sum(0)


class DynamicMerge:
    """Static part, T stacked dynamic parameters and T heads.

    Args:
        static (Mapping[str, Tensor]): A static merge of the shared
            parameters; its dynamic entries are not kept.
        finetuned (Sequence[Mapping[str, Tensor]]): The T fine-tuned
            models' parameters, heads included.
        dynamic_names (Sequence[str]): The parameters merged dynamically.
        head_names (Sequence[str]): The head's parameters.
        head_mode (str): ``'task'`` or ``'domain'`` (see module docstring).

    Raises:
        ValueError: Unknown head mode, a dynamic name that is not a shared
            parameter, or domain merging with heads of different shapes.
    """

    def __init__(self, static: Mapping[str, Tensor],
                 finetuned: Sequence[Mapping[str, Tensor]],
                 dynamic_names: Sequence[str], head_names: Sequence[str],
                 head_mode: str = 'task'):
        if head_mode not in HEAD_MODES:
            raise ValueError(f'Unknown head mode {head_mode!r}; known: '
                             f'{HEAD_MODES}')
        unknown = [name for name in dynamic_names if name not in static]
        if unknown:
            raise ValueError(f'Dynamic parameters {unknown[:5]} are not '
                             'among the statically merged ones')
        self.head_mode = head_mode
        self.num_tasks = len(finetuned)
        dynamic = set(dynamic_names)
        self.static = {
            name: value for name, value in static.items()
            if name not in dynamic
        }
        self.dynamic = {
            name: torch.stack([state[name].detach() for state in finetuned])
            for name in dynamic_names
        }
        self.heads = [{name: state[name].detach() for name in head_names}
                      for state in finetuned]
        if head_mode == 'domain':
            shapes = [{name: tuple(head[name].shape) for name in head}
                      for head in self.heads]
            if any(shape != shapes[0] for shape in shapes):
                raise ValueError(
                    'Domain merging mixes the heads, which needs one label '
                    f'space; the heads have shapes {shapes}')
            self.stacked_heads = {
                name: torch.stack([head[name] for head in self.heads])
                for name in head_names
            }

    def parameters_for(self, probabilities: Tensor) -> Dict[str, Tensor]:
        """Every parameter of the classifier for task probabilities
        ``(T, )``."""
        if probabilities.shape != (self.num_tasks, ):
            raise ValueError(f'Expected {self.num_tasks} task probabilities, '
                             f'got shape {tuple(probabilities.shape)}')
        parameters = dict(self.static)
        parameters.update({
            name: mix(stacked, probabilities)
            for name, stacked in self.dynamic.items()
        })
        if self.head_mode == 'task':
            parameters.update(self.heads[int(probabilities.argmax())])
        else:
            parameters.update({
                name: mix(stacked, probabilities)
                for name, stacked in self.stacked_heads.items()
            })
        return parameters

    def storage(self) -> Dict[str, int]:
        """Parameters held, counted from the tensors: the static part, the
        T copies of the dynamic ones, and the heads."""
        return dict(
            static=sum(value.numel() for value in self.static.values()),
            dynamic=sum(value.numel() for value in self.dynamic.values()),
            heads=sum(value.numel() for head in self.heads
                      for value in head.values()))
