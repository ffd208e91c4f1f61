"""Reading checkpoints for comparison (fine-tuned angles, soups).

Three kinds of file meet here: pretrained weights (a bare backbone's state
dict, or one under ``backbone.`` as the converters write), runner
checkpoints (``{'state_dict': ..., 'meta': ...}``, every tensor of the
model) and trainable-only checkpoints (``trainable_epoch_N.safetensors``,
or ``.pth`` from older versions; meta ``adapterx_trainable_only``: the
tensors that trained, the rest being the pretrained weights they were
trained on).
"""
from dataclasses import dataclass, field
from typing import Dict, Iterable, Mapping, Optional

from torch import Tensor

from .io import load_runner_checkpoint
from .state_dicts import strip_ddp_prefix
from .trainable import TRAINABLE_ONLY_KEY
from .trust import RUNNER_HOW_TO_TRUST

BACKBONE_PREFIX = 'backbone.'


@dataclass
class CheckpointWeights:
    """The tensors and metadata of one file; ``trainable_only`` when it
    holds the trained tensors alone."""
    path: str
    state_dict: Dict[str, Tensor]
    meta: dict = field(default_factory=dict)
    trainable_only: bool = False


def load_checkpoint_weights(path: str, trust: bool = False,
                            how_to_trust: Optional[str] = None
                            ) -> CheckpointWeights:
    """Load a state dict or a (runner or trainable-only) checkpoint,
    weights-only unless ``trust`` (see
    :func:`~adapterx.checkpoint.io.load_runner_checkpoint`, which
    ``how_to_trust`` is passed to); a ``module.`` prefix of a DDP-wrapped
    save is removed.

    Raises:
        ValueError: The file holds no state dict of tensors.
    """
    checkpoint = load_runner_checkpoint(
        str(path), trust=trust,
        how_to_trust=how_to_trust or RUNNER_HOW_TO_TRUST)
    state = checkpoint.get('state_dict', checkpoint) if isinstance(
        checkpoint, dict) else checkpoint
    if not isinstance(state, dict) or not state or not all(
            isinstance(value, Tensor) for value in state.values()):
        raise ValueError(
            f'{path} holds no state dict of tensors (expected '
            "{name: tensor} or {'state_dict': {name: tensor}, 'meta': ...})")
    state = strip_ddp_prefix(state)
    meta = (checkpoint.get('meta') if 'state_dict' in checkpoint else
            None) or {}
    return CheckpointWeights(str(path), state, meta,
                             bool(meta.get(TRAINABLE_ONLY_KEY)))


def align_keys(state: Mapping[str, Tensor], target_keys: Iterable[str],
               source: str) -> Dict[str, Tensor]:
    """``state`` with its keys named as ``target_keys`` name them: as they
    are, with ``backbone.`` added (a bare backbone's file next to a
    classifier's) or removed, whichever shares the most keys.

    Raises:
        ValueError: No key is shared either way; ``source`` names the file.
    """
    targets = set(target_keys)
    candidates = [
        dict(state),
        {BACKBONE_PREFIX + key: value for key, value in state.items()},
        {
            key[len(BACKBONE_PREFIX):]: value
            for key, value in state.items() if key.startswith(BACKBONE_PREFIX)
        },
    ]
    best = max(candidates, key=lambda candidate: len(targets & set(candidate)))
    if not targets & set(best):
        raise ValueError(
            f'{source} shares no tensor name with the model it is compared '
            f'with (its names look like {list(state)[:3]}, the model\'s like '
            f'{sorted(targets)[:3]})')
    return best


def complete_state(weights: CheckpointWeights,
                   reference: Mapping[str, Tensor],
                   keys: Iterable[str]) -> Dict[str, Tensor]:
    """The tensors ``keys`` of a checkpoint: its own, and for a
    trainable-only file the reference's for what it does not hold (those
    tensors were frozen, so they are the pretrained ones).

    Raises:
        ValueError: A full checkpoint lacks some of ``keys``, or a tensor's
            shape differs from the reference's (another label space or
            architecture); the message names the file and the keys.
    """
    keys = list(keys)
    missing = [key for key in keys if key not in weights.state_dict]
    if missing and not weights.trainable_only:
        raise ValueError(
            f'{weights.path} lacks {len(missing)} tensor(s) of the model, '
            f'e.g. {missing[:5]}; only a trainable-only checkpoint '
            '(trainable_epoch_N.safetensors) may leave tensors out')
    mismatched = [
        f'{key}: {tuple(weights.state_dict[key].shape)} vs '
        f'{tuple(reference[key].shape)}' for key in keys
        if key in weights.state_dict
        and weights.state_dict[key].shape != reference[key].shape
    ]
    if mismatched:
        raise ValueError(
            f'{weights.path} has tensors of other shapes than the model '
            f'(another label space or architecture?): {mismatched[:5]}')
    return {key: weights.state_dict.get(key, reference[key]) for key in keys}
