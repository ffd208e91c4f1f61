"""Strict loading of weight files into a model, shared by every path that
loads one: ``init_cfg=dict(type='Pretrained')``, ``load_from``, ``--resume``,
``tools/test.py CHECKPOINT`` and the tools.

mmengine loads with ``strict=False`` and only logs the keys that did not
match, so a file made for another model gives a number (the accuracy of a
random backbone) instead of an error. Here a file that leaves tensors of
the model unloaded, holds tensors the model does not have, or holds them in
other shapes is refused before anything runs, with a message that names the
file, counts each kind of mismatch and shows a few of each.

What a file may leave out depends on its kind (:class:`WeightsKind`): the
tensors a PEFT method added (:func:`peft_added_modules`) are absent from a
backbone's pretrained weights, present in a training run's checkpoint, and
the very tensors a trainable-only checkpoint exists to hold.

A plain model's file loads into the same model under a PEFT wrapper: the
wrapper holds the backbone at ``<wrapper>.module``, so the file's
``backbone.X`` is read as ``backbone.module.X`` (:func:`to_peft_wrapped_keys`).
"""
import re
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import torch.nn as nn
from mmengine.model.weight_init import PretrainedInit
from mmengine.runner.checkpoint import load_state_dict
from torch import Tensor

from adapterx.models.peft.injected import (injected_tensor_names,
                                           peft_added_modules)
from adapterx.models.peft.wrapper import PeftWrapper
from adapterx.registry import WEIGHT_INITIALIZERS
from .io import load_runner_checkpoint, read_pretrained_weights
from .state_dicts import strip_ddp_prefix, unwrap_model
from .trainable import TRAINABLE_ONLY_KEY

# How many names of each kind of mismatch an error shows.
SHOWN_KEYS = 5


@dataclass(frozen=True)
class WeightsKind:
    """What a kind of weight file holds of the model it is loaded into.

    Args:
        name (str): The kind, as an error message names it.
        peft_added (str): ``'may_miss'``: the PEFT-added tensors may be
            missing (they keep their initialisation), nothing else;
            ``'required'``: nothing may be missing; ``'only'``: only the
            PEFT-added tensors must be present (the rest comes from the
            config's pretrained weights).
        rule (str): Why, for the error message.
    """
    name: str
    peft_added: str
    rule: str


PRETRAINED_WEIGHTS = WeightsKind(
    'pretrained weights', 'may_miss',
    'pretrained weights predate the PEFT method, so only the modules it '
    'added may be missing')
TRAINING_CHECKPOINT = WeightsKind(
    "a training run's checkpoint", 'required',
    "nothing may be missing from a training run's checkpoint: it holds "
    'every tensor of the model it was saved from, the PEFT-added modules '
    'too')
TRAINABLE_ONLY = WeightsKind(
    'a trainable-only checkpoint', 'only',
    'the rest of the model comes from the config\'s pretrained weights, but '
    'the PEFT-added modules must come from the file')


def weights_kind(checkpoint: Mapping) -> WeightsKind:
    """The kind of a loaded (not trainable-only) checkpoint: mmengine's
    runner saves its message hub in every checkpoint it writes."""
    return TRAINING_CHECKPOINT if 'message_hub' in checkpoint \
        else PRETRAINED_WEIGHTS


class CheckpointMismatchError(ValueError):
    """A weight file does not fit the model it is loaded into."""


def to_peft_wrapped_keys(state_dict: Mapping[str, Tensor],
                         model: nn.Module) -> Dict[str, Tensor]:
    """``state_dict`` with the keys of a plain model's backbone renamed to
    where the PEFT wrappers of ``model`` hold it (``backbone.X`` ->
    ``backbone.module.X``).

    A key is renamed only if the model has no tensor of its name but has
    one under the wrapper's ``module``, and only for a file that has no key
    under that ``module`` (one saved from a wrapped model is left as it is).
    """
    model_keys = set(model.state_dict())
    renamed = dict(state_dict)
    for name, submodule in model.named_modules():
        if not isinstance(submodule, PeftWrapper):
            continue
        prefix = f'{name}.' if name else ''
        wrapped = f'{prefix}module.'
        if any(key.startswith(wrapped) for key in renamed):
            continue

        def wrapped_key(key):
            candidate = wrapped + key[len(prefix):]
            moves = (key.startswith(prefix) and key not in model_keys
                     and candidate in model_keys)
            return candidate if moves else key

        renamed = {wrapped_key(key): value for key, value in renamed.items()}
    return renamed


@dataclass
class StateDictMismatch:
    """How a state dict differs from a model's, each list in order."""
    missing: List[str] = field(default_factory=list)
    unexpected: List[str] = field(default_factory=list)
    shapes: List[str] = field(default_factory=list)

    def __bool__(self):
        return bool(self.missing or self.unexpected or self.shapes)


def find_mismatch(model: nn.Module, state_dict: Mapping[str, Tensor],
                  kind: WeightsKind) -> StateDictMismatch:
    """Compare ``state_dict`` with ``model``'s as ``kind`` requires."""
    model_state = model.state_dict()
    added = injected_tensor_names(model)
    if kind.peft_added == 'may_miss':
        needed = [key for key in model_state if key not in added]
    elif kind.peft_added == 'only':
        needed = [key for key in model_state if key in added]
    else:
        needed = list(model_state)
    return StateDictMismatch(
        # A BatchNorm's batch counter is no weight (older files lack it).
        missing=[
            key for key in needed if key not in state_dict
            and not key.endswith('.num_batches_tracked')
        ],
        unexpected=[key for key in state_dict if key not in model_state],
        shapes=[
            f'{key}: file {tuple(value.shape)} vs model '
            f'{tuple(model_state[key].shape)}'
            for key, value in state_dict.items()
            if key in model_state and value.shape != model_state[key].shape
        ])


def _some(names: List[str]) -> str:
    more = len(names) - SHOWN_KEYS
    return ', '.join(
        names[:SHOWN_KEYS]) + (f', ... ({more} more)' if more > 0 else '')


def _hints(mismatch: StateDictMismatch, state_dict: Mapping[str, Tensor],
           source: str) -> List[str]:
    """The likely cause of the common mismatches, with the fix."""
    hints = []
    for key in mismatch.unexpected:
        found = re.fullmatch(r'(.*)\.layers\.pre_logits\.weight', key)
        if found:
            hints.append(
                f'The file has a pre_logits layer ({key}: Google\'s Dense + '
                'tanh between the CLS feature and the classifier, which the '
                'ViT converter keeps with --keep-head) that the model\'s '
                f'{found[1]} lacks, so the logits would lose it: set '
                f'{found[1]}.hidden_dim={state_dict[key].shape[0]} in the '
                'config, or convert without --keep-head.')
    if (mismatch.missing and not mismatch.unexpected
            and all(key.startswith('head.') for key in mismatch.missing)):
        hints.append(
            'The file holds no classifier (a backbone\'s weights, e.g. a '
            'converter\'s output without --keep-head): load it as the '
            "backbone's pretrained weights, backbone.init_cfg=dict("
            f"type='Pretrained', checkpoint='{source}', prefix='backbone.'), "
            'rather than as the whole model.')
    return hints


def mismatch_message(model: nn.Module,
                     state_dict: Mapping[str, Tensor],
                     source: str,
                     kind: WeightsKind,
                     mismatch: StateDictMismatch,
                     how_to_relax: Optional[str] = None) -> str:
    added = list(peft_added_modules(model))
    lines = [
        f'{source} ({kind.name}, {len(state_dict)} tensors) does not fit '
        f'the {type(model).__name__} it is loaded into '
        f'({len(model.state_dict())} tensors); refused before any '
        'training or testing:'
    ]
    kinds_of_mismatch = (
        (mismatch.missing, 'missing (in the model, not in the file)'),
        (mismatch.unexpected, 'unexpected (in the file, not in the model)'),
        (mismatch.shapes, 'shape mismatch(es)'),
    )
    for names, what in kinds_of_mismatch:
        if names:
            lines.append(f'- {len(names)} {what}: {_some(names)}')
    if added:
        lines.append(f'Modules a PEFT method added ({len(added)}): '
                     f'{_some(added)}; {kind.rule}.')
    else:
        lines.append('The model has no module a PEFT method added.')
    lines += _hints(mismatch, state_dict, source)
    if how_to_relax:
        lines.append(f'To load the tensors that fit anyway: {how_to_relax}.')
    return '\n'.join(lines)


def load_checked(model: nn.Module,
                 state_dict: Mapping[str, Tensor],
                 source: str,
                 kind: WeightsKind = PRETRAINED_WEIGHTS,
                 strict: bool = True,
                 how_to_relax: Optional[str] = None) -> None:
    """Load ``state_dict`` (from the file ``source``) into ``model`` (the
    module inside, for a DDP or test-time-augmentation wrapper).

    The keys of a plain model's file are first moved under the model's
    PEFT wrappers (:func:`to_peft_wrapped_keys`).

    Args:
        kind (WeightsKind): What the file must hold of the model.
        strict (bool): Refuse a file that does not fit. False loads the
            tensors that fit and logs the rest, as mmengine does.
        how_to_relax (str, optional): How the caller's user asks for a
            partial load, for the error message.

    Raises:
        CheckpointMismatchError: ``strict`` and the file does not fit; the
            message names it, counts each kind of mismatch and shows a few.
    """
    # As mmengine's loading does: a file holds the model, not its wrappers.
    model = unwrap_model(model)
    state_dict = to_peft_wrapped_keys(state_dict, model)
    if not strict:
        load_state_dict(model, state_dict, strict=False, logger='current')
        return
    mismatch = find_mismatch(model, state_dict, kind)
    if mismatch:
        raise CheckpointMismatchError(
            mismatch_message(model, state_dict, source, kind, mismatch,
                             how_to_relax))
    # Checked: what is left out is what this kind of file may leave out.
    model.load_state_dict(state_dict, strict=False)


def load_trainable_state_dict(model: nn.Module, state: dict, source: str,
                              strict: bool = True,
                              how_to_relax: Optional[str] = None) -> None:
    """Load a :func:`trainable_state_dict` into ``model``, whose other
    tensors are the config's pretrained weights.

    Args:
        strict (bool): Refuse a file made for another backbone or method:
            one that holds tensors the model does not have or of other
            shapes, or lacks some the PEFT method added (see
            :func:`load_checked`).
        how_to_relax (str, optional): See :func:`load_checked`.

    Raises:
        CheckpointMismatchError: ``strict`` and the file does not fit.
    """
    load_checked(model, state, source, TRAINABLE_ONLY, strict, how_to_relax)


def apply_checkpoint(model: nn.Module,
                     checkpoint: Mapping,
                     source: str,
                     strict: bool = True,
                     revise_keys: Optional[Sequence[Tuple[str, str]]] = None,
                     how_to_relax: Optional[str] = None) -> None:
    """Load a read checkpoint (``{'state_dict': ..., 'meta': ...}`` or a
    bare state dict) from the file ``source`` into ``model``.

    A trainable-only file is applied on top of the config's pretrained
    weights, which ``model.init_weights()`` loads first.

    Args:
        strict (bool): Refuse a file that does not fit the model (see
            :func:`load_checked`).
        revise_keys: ``(pattern, replacement)`` regular expressions applied
            to every key of a whole-model state dict, in order; None removes
            the ``module.`` of a DDP-wrapped save (:func:`strip_ddp_prefix`).
        how_to_relax (str, optional): How the caller's user asks for a
            partial load, for the error message.

    Raises:
        CheckpointMismatchError: ``strict`` and the file does not fit.
    """
    state_dict = checkpoint.get('state_dict', checkpoint)
    if (checkpoint.get('meta') or {}).get(TRAINABLE_ONLY_KEY):
        # The frozen tensors are the config's pretrained weights, which a
        # test run has not loaded yet.
        model.init_weights()
        load_trainable_state_dict(model, state_dict, source, strict,
                                  how_to_relax)
        return
    if revise_keys is None:
        state_dict = strip_ddp_prefix(state_dict)
    for pattern, replacement in revise_keys or ():
        state_dict = {
            re.sub(pattern, replacement, key): value
            for key, value in state_dict.items()
        }
    load_checked(model, state_dict, source, weights_kind(checkpoint), strict,
                 how_to_relax)


def load_checkpoint(model: nn.Module,
                    filename: str,
                    map_location='cpu',
                    strict: bool = True,
                    trust: bool = False) -> dict:
    """Read ``filename`` as every adapterx file is read
    (:func:`load_runner_checkpoint`: safetensors, or a weights-only
    unpickle), load it into ``model`` as the
    runner's ``load_from`` does (:func:`apply_checkpoint`) and return it.

    Unlike mmengine's ``load_checkpoint``, strict by default, and a plain
    model's file (e.g. the ViT converter's output) loads into the same
    model under a PEFT wrapper.
    """
    checkpoint = load_runner_checkpoint(filename,
                                        map_location=map_location,
                                        trust=trust,
                                        how_to_trust='pass trust=True')
    apply_checkpoint(model,
                     checkpoint,
                     filename,
                     strict,
                     how_to_relax='strict=False')
    return checkpoint


@WEIGHT_INITIALIZERS.register_module(name='Pretrained')
class StrictPretrainedInit(PretrainedInit):
    """mmengine's ``Pretrained`` initialisation that refuses a checkpoint
    which does not fit the module.

    mmengine loads pretrained weights with ``strict=False`` and only logs
    the keys that did not match, so a wrongly converted file or a wrong
    ``prefix`` silently leaves the backbone at its random initialisation.
    Under adapterx's default scope, ``init_cfg=dict(type='Pretrained', ...)``
    builds this class instead (same name, so mmengine still loads it after
    every other initialisation). Missing keys are allowed only for modules
    a PEFT method added (see :func:`load_checked`, which every other
    loading path shares).

    Args:
        checkpoint (str): Pretrained weights file.
        prefix (str, optional): Load only the keys under this prefix, with
            the prefix removed (e.g. ``'backbone.'``).
        map_location (str): As for ``torch.load``.
        strict (bool): Fail on missing, unexpected or differently shaped
            tensors. False loads whatever fits and logs the rest, as
            mmengine does.
    """

    def __init__(self, checkpoint, prefix=None, map_location='cpu',
                 strict=True):
        super().__init__(checkpoint, prefix=prefix, map_location=map_location)
        self.strict = strict

    def __call__(self, module):
        state_dict = read_pretrained_weights(self.checkpoint,
                                             self.map_location, self.prefix,
                                             module)
        if not self.strict:
            load_state_dict(module, state_dict, strict=False,
                            logger='current')
            return
        load_checked(
            module,
            state_dict,
            self.checkpoint,
            PRETRAINED_WEIGHTS,
            how_to_relax='set init_cfg.strict=False (if the names differ by '
            f"a prefix, set init_cfg.prefix instead: it is {self.prefix!r})")
