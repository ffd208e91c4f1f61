"""Fold a trained PEFT method into its backbone for deployment."""
import torch.nn as nn

from .injected import InjectedModule


def merged_backbone(backbone: nn.Module) -> nn.Module:
    """The plain backbone computing the same function as ``backbone``: a
    wrapper's ``merge_and_unwrap()`` result, or ``backbone`` itself when no
    method wraps it (full fine-tuning, linear probing, BitFit, partial
    fine-tuning train the backbone's own tensors).

    Raises:
        ValueError: The method has no ``merge_and_unwrap`` (anything
            token-routed or prompt-based: Adapter-X, VPT, AdaptFormer, ...),
            naming it, or its change does not fold into these layers.
    """
    if hasattr(backbone, 'merge_and_unwrap'):
        return backbone.merge_and_unwrap()
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
    return backbone


def merge_backbone(model: nn.Module) -> str:
    """Replace ``model.backbone`` by :func:`merged_backbone`.

    Returns:
        str: What was merged (the wrapper's class name, or ``'nothing'``).
    """
    backbone = model.backbone
    model.backbone = merged_backbone(backbone)
    return 'nothing' if model.backbone is backbone else type(
        backbone).__name__
