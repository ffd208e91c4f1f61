"""What the re-parameterisable PEFT methods (LoRA, SSF, FacT) share.

Each of them changes some layers of the backbone by a function of those
layers' weights alone (a low-rank or factorised weight increment, a
per-channel affine map of the output), never of the tokens. So after
training the change folds into the layers' own weights and biases
(:meth:`ReparamWrapper.merge_and_unwrap`), and the plain backbone, with its
own parameter names, computes the adapted function at no extra cost.

The backbone's source is not edited: an adapted layer gets the method's
module as a submodule (an :class:`~adapterx.models.peft.InjectedModule`, so
strict pretrained loading accepts its missing keys) and a replacement
``forward`` that passes the layer's input and output through it. The
layer's own parameter names do not change, so pretrained checkpoints load
as they are.
"""
import functools
from typing import List, Optional, Sequence, Tuple, Type, Union

import torch
import torch.nn as nn

from .freeze import compile_patterns
from .injected import InjectedModule, added_state_dict
from .wrapper import PeftWrapper


class ReparamModule(InjectedModule):
    """The change a method makes to one layer (its *host*)."""

    def forward(self, host_input, host_output):
        """The adapted output, from the host's input and plain output."""
        raise NotImplementedError

    def merge_into(self, host: nn.Module) -> None:
        """Fold the change into ``host``'s weight and bias, in place."""
        raise NotImplementedError

    def merge_blocker(self, host: nn.Module) -> Optional[str]:
        """Why the change cannot fold into ``host``, or None if it can."""
        return None


def _adapted_forward(host, attribute, host_input, *args, **kwargs):
    output = type(host).forward(host, host_input, *args, **kwargs)
    return getattr(host, attribute)(host_input, output)


def find_layers(
        module: nn.Module, patterns: Sequence[str],
        types: Tuple[Type[nn.Module], ...]) -> List[Tuple[str, nn.Module]]:
    """The submodules of ``module`` of one of ``types`` whose names match
    one of the regular expressions ``patterns`` (``re.search``), in order.

    Raises:
        ValueError: A pattern matches no such layer (a typo would otherwise
            silently adapt nothing).
    """
    compiled = compile_patterns(patterns, 'layer')
    candidates = [(name, layer) for name, layer in module.named_modules()
                  if isinstance(layer, types)]
    unused = [
        regex.pattern for regex in compiled
        if not any(regex.search(name) for name, _ in candidates)
    ]
    if unused:
        type_names = '/'.join(t.__name__ for t in types)
        raise ValueError(
            f'Layer pattern(s) {unused} match no {type_names} of '
            f'{type(module).__name__}; its {type_names} layers are named '
            f'like {[name for name, _ in candidates][:6]}')
    return [(name, layer) for name, layer in candidates if any(
        regex.search(name) for regex in compiled)]


class ReparamWrapper(PeftWrapper):
    """Base of the wrappers of re-parameterisable methods.

    Args:
        module (dict | nn.Module): The backbone (config or module). A config
            is built and its ``init_weights`` (pretrained weights) run before
            the method's modules are added.
    """

    #: The attribute under which an adapted layer holds its
    #: :class:`ReparamModule` (and the word its trainable pattern uses).
    injected_attribute = ''

    def __init__(self, module: Union[dict, nn.Module], init_cfg=None):
        super().__init__(module, init_cfg=init_cfg)
        # Plain list, not a ModuleList: the layers belong to the backbone.
        self._adapted_layers = []

    def adapt(self, layer: nn.Module, change: ReparamModule) -> None:
        setattr(layer, self.injected_attribute, change)
        layer.forward = functools.partial(_adapted_forward, layer,
                                          self.injected_attribute)
        self._adapted_layers.append(layer)

    @torch.no_grad()
    def merge_and_unwrap(self) -> nn.Module:
        """Fold every change into its layer and remove the method.

        Returns:
            nn.Module: The plain backbone (the same object, modified in
            place) whose output equals the wrapped one's in eval mode, with
            exactly the state-dict keys of the unmodified backbone.

        Raises:
            ValueError: Some change cannot be folded (naming the layers);
                nothing is modified then.
        """
        names = {
            id(layer): name
            for name, layer in self.module.named_modules()
        }
        blockers = []
        for layer in self._adapted_layers:
            change = getattr(layer, self.injected_attribute)
            blocker = change.merge_blocker(layer)
            if blocker is not None:
                blockers.append(f'{names[id(layer)]}: {blocker}')
        if blockers:
            raise ValueError(f'{type(self).__name__} cannot be merged into '
                             f'{type(self.module).__name__}: ' +
                             '; '.join(blockers))
        for layer in self._adapted_layers:
            getattr(layer, self.injected_attribute).merge_into(layer)
        self._restore_layers()
        return self.module

    def unwrap(self):
        """Remove the method without folding it in.

        Returns:
            tuple[nn.Module, dict]: The plain backbone (the same object, its
            layers restored, computing what it computed before the method)
            and the tensors of the method's modules.
        """
        added_state = added_state_dict(self)
        self._restore_layers()
        return self.module, added_state

    def _restore_layers(self) -> None:
        for layer in self._adapted_layers:
            del layer.forward
            delattr(layer, self.injected_attribute)
        self._adapted_layers = []
