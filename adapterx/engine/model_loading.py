"""Putting a checkpoint's weights into a model: runner checkpoints, the
trainable-only files of :class:`TrainableCheckpointHook`, and pretrained
weights such as the converters' outputs, each checked as its kind requires
(:mod:`adapterx.models.peft.strict_loading`)."""
import re
from typing import Mapping, Optional, Sequence, Tuple

import torch.nn as nn

from adapterx.models.peft.strict_loading import load_checked, weights_kind
from .checkpoint import load_runner_checkpoint
from .trainable_weights import TRAINABLE_ONLY_KEY, load_trainable_state_dict

# A model saved while wrapped in DDP has every key under ``module.``.
DDP_PREFIX_REVISION = ((r'^module\.', ''), )


def apply_checkpoint(model: nn.Module,
                     checkpoint: Mapping,
                     source: str,
                     strict: bool = True,
                     revise_keys: Sequence[Tuple[str,
                                                 str]] = DDP_PREFIX_REVISION,
                     how_to_relax: Optional[str] = None) -> None:
    """Load a read checkpoint (``{'state_dict': ..., 'meta': ...}`` or a
    bare state dict) from the file ``source`` into ``model``.

    A trainable-only file is applied on top of the config's pretrained
    weights, which ``model.init_weights()`` loads first.

    Args:
        strict (bool): Refuse a file that does not fit the model (see
            :func:`load_checked`).
        revise_keys: ``(pattern, replacement)`` regular expressions applied
            to every key of a whole-model state dict, in order.
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
    for pattern, replacement in revise_keys:
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
