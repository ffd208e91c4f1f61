"""Fold a trained PEFT method into its backbone for deployment."""
import torch.nn as nn

from ..peft.injected import InjectedModule


def merge_backbone(model: nn.Module) -> str:
    """Replace ``model.backbone`` by the plain backbone computing the same
    function: a wrapper's ``merge_and_unwrap()`` result, or the backbone
    itself when no method wraps it (full fine-tuning, linear probing,
    BitFit, partial fine-tuning train the backbone's own tensors).

    Returns:
        str: What was merged (the wrapper's class name, or ``'nothing'``).

    Raises:
        ValueError: The method has no ``merge_and_unwrap`` (anything
            token-routed or prompt-based: Adapter-X, VPT, AdaptFormer, ...),
            naming it, or its change does not fold into these layers.
    """
    backbone = model.backbone
    if hasattr(backbone, 'merge_and_unwrap'):
        model.backbone = backbone.merge_and_unwrap()
        return type(backbone).__name__
    wrapped = isinstance(getattr(backbone, 'module', None), nn.Module)
    injected = any(
        isinstance(module, InjectedModule) for module in backbone.modules())
    if wrapped or injected:
        raise ValueError(
            f'{type(backbone).__name__} cannot be merged into the backbone '
            'weights: it defines no merge_and_unwrap(), i.e. what it adds '
            'is not a fixed function of the weights (token-routed adapters, '
            'prompt tokens or input-dependent scales change the computation '
            'itself). Deploy it with its config instead. Mergeable methods: '
            'LoRA, SSF, FacT, and BitFit / full fine-tuning / linear probing '
            '(nothing to merge).')
    return 'nothing'
