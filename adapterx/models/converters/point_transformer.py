"""Convert the official Point-MAE and Point-BERT checkpoints for
:class:`~adapterx.models.PointTransformer`.

Point-MAE ``pretrain.pth``: ``ckpt['base_model']`` with keys
``module.MAE_encoder.*`` (the encoder we keep) beside the decoder and
reconstruction head (``MAE_decoder``, ``decoder_pos_embed``, ``mask_token``,
``increase_dim``), which are dropped. Its fine-tuned checkpoints have the
encoder at the top level and a ``cls_head_finetune``.

Point-BERT ``Point-BERT.pth``: ``ckpt['base_model']`` with the student
transformer under ``module.transformer_q.*`` (its token-prediction and
contrastive heads ``lm_head`` / ``cls_head`` and ``mask_token`` dropped);
the momentum encoder ``transformer_k``, the dVAE and the MoCo queue are
dropped too. Fine-tuned Point-BERT checkpoints have the encoder at the top
level or under ``base_model.``.

Renames: ``encoder.`` -> ``group_encoder.``, ``reduce_dim.`` ->
``group_projection.``, ``blocks.blocks.`` -> ``blocks.``; ``cls_token``,
``cls_pos``, ``pos_embed.*`` and ``norm.*`` keep their names.

Point-MAE's pretraining has no class token: the converter writes freshly
initialised ``cls_token`` / ``cls_pos`` (truncated normal, std 0.02, as
Point-MAE's fine-tuning initialises them) and names them in the result's
``initialised`` list, so the file loads strictly.
"""
import re
from typing import Dict, List, NamedTuple

import torch

from adapterx.checkpoint.state_dicts import strip_ddp_prefix
from adapterx.checkpoint.third_party import load_third_party_weights
from ..backbones import PointTransformer

# (source pattern, replacement), applied in order to each kept key.
RENAMES = (
    (r'^encoder\.', 'group_encoder.'),
    (r'^reduce_dim\.', 'group_projection.'),
    (r'^blocks\.blocks\.', 'blocks.'),
)
# Where each format keeps the encoder, and what it holds besides.
ENCODER_PREFIXES = {
    'point-mae': ('MAE_encoder.', ),
    'point-bert': ('transformer_q.', 'base_model.'),
}
DISCARDED = {
    'point-mae': (r'^MAE_decoder\.', r'^decoder_pos_embed\.', r'^mask_token$',
                  r'^increase_dim\.', r'^cls_head_finetune\.'),
    'point-bert': (r'^transformer_k\.', r'^dvae\.', r'^queue', r'^cls_head\.',
                   r'^lm_head\.', r'^mask_token$', r'^cls_head_finetune\.',
                   r'^moco_loss', r'^loss_ce'),
}
# Present in the fine-tuning model but not in a pretraining checkpoint.
INITIALISED_IF_ABSENT = ('cls_token', 'cls_pos')


class ConvertedPointTransformer(NamedTuple):
    source_format: str
    state_dict: Dict[str, torch.Tensor]
    initialised: List[str]
    discarded: List[str]


def detect_point_format(state_dict: dict) -> str:
    """``'point-mae'`` or ``'point-bert'`` from the checkpoint's keys."""
    keys = list(strip_ddp_prefix(state_dict))
    if any(key.startswith('MAE_encoder.') for key in keys):
        return 'point-mae'
    if any(key.startswith(('transformer_q.', 'reduce_dim.',
                           'base_model.reduce_dim.')) for key in keys):
        return 'point-bert'
    # A fine-tuned Point-MAE: the encoder at the top level, no projection.
    if any(key.startswith('blocks.blocks.') for key in keys):
        return 'point-mae'
    raise ValueError(
        'cannot tell the checkpoint format: no MAE_encoder.* / blocks.blocks.* '
        '(Point-MAE) or transformer_q.* / reduce_dim.* (Point-BERT) keys; '
        'first keys: '
        f'{keys[:5]}')


def convert_point_transformer(state_dict: dict,
                              expected_shapes: Dict[str, torch.Size],
                              source_format: str = None,
                              seed: int = 0) -> ConvertedPointTransformer:
    """Map an official state dict onto :class:`PointTransformer`'s keys.

    Args:
        state_dict (dict): The official weights (the ``base_model`` dict).
        expected_shapes (dict): Key -> shape of the target backbone's state
            dict; every one must be produced, with its shape.
        source_format (str, optional): ``'point-mae'`` or ``'point-bert'``;
            detected from the keys when None.
        seed (int): Seed of the initialisation of absent class tokens.

    Raises:
        ValueError: a source key is neither mapped nor known to be dropped,
            a target key is not produced, or a shape differs; each names
            the keys at fault.
    """
    source_format = source_format or detect_point_format(state_dict)
    if source_format not in ENCODER_PREFIXES:
        raise ValueError(f'source_format {source_format!r} is not one of '
                         f'{sorted(ENCODER_PREFIXES)}')
    converted, discarded, unknown = {}, [], []
    for key, value in strip_ddp_prefix(state_dict).items():
        for prefix in ENCODER_PREFIXES[source_format]:
            if key.startswith(prefix):
                key = key[len(prefix):]
                break
        if any(re.search(pattern, key)
               for pattern in DISCARDED[source_format]):
            discarded.append(key)
            continue
        for pattern, replacement in RENAMES:
            key = re.sub(pattern, replacement, key)
        if key in expected_shapes:
            converted[key] = value
        else:
            unknown.append(key)
    if unknown:
        raise ValueError(
            f'{len(unknown)} {source_format} key(s) match no PointTransformer '
            f'key (wrong arch or a different model?): {unknown[:10]}')

    initialised = []
    generator = torch.Generator().manual_seed(seed)
    for key in INITIALISED_IF_ABSENT:
        if key not in converted and key in expected_shapes:
            converted[key] = torch.nn.init.trunc_normal_(
                torch.empty(expected_shapes[key]), std=.02,
                generator=generator)
            initialised.append(key)

    missing = sorted(set(expected_shapes) - set(converted))
    if missing:
        raise ValueError(f'the {source_format} checkpoint lacks '
                         f'{len(missing)} PointTransformer key(s): '
                         f'{missing[:10]}')
    wrong_shapes = {
        key: (tuple(value.shape), tuple(expected_shapes[key]))
        for key, value in converted.items()
        if value.shape != expected_shapes[key]
    }
    if wrong_shapes:
        raise ValueError(
            'shape mismatch (checkpoint, backbone) for '
            f'{dict(list(wrong_shapes.items())[:10])}: is the arch right?')
    return ConvertedPointTransformer(source_format, converted, initialised,
                                     discarded)


def convert_point_checkpoint(path,
                             source_format=None,
                             trust=False,
                             prefix='backbone.',
                             backbone=None) -> ConvertedPointTransformer:
    """Read an official checkpoint file and convert it.

    Args:
        path (str | Path): The official ``.pth``.
        source_format (str, optional): Detected from the keys when None.
        trust (bool): Allow full unpickling (see
            :func:`load_third_party_weights`).
        prefix (str): Prepended to every converted key.
        backbone (PointTransformer, optional): The target; by default the
            source format's published arch.
    """
    state_dict = load_third_party_weights(path, trust=trust)
    source_format = source_format or detect_point_format(state_dict)
    if backbone is None:
        backbone = PointTransformer(arch=source_format)
    expected = {
        key: value.shape
        for key, value in backbone.state_dict().items()
    }
    result = convert_point_transformer(state_dict, expected, source_format)
    return result._replace(state_dict={
        prefix + key: value
        for key, value in result.state_dict.items()
    })
