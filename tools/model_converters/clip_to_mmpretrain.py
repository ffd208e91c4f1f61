"""Convert an OpenAI CLIP / open_clip image tower for adapterx's
``CLIPVisionTransformer``, optionally with a zero-shot head.

    python tools/model_converters/clip_to_mmpretrain.py SRC DST
        [--head HEAD] [--trust]

SRC: a state dict (``.bin``, ``.pth``, ``.pt`` or ``.safetensors``) of a
full CLIP model (keys ``visual.*``), of its image tower alone, or of a
task-arithmetic ``ImageEncoder`` (keys ``model.visual.*``; its published
files pickle the whole module: save its ``state_dict()`` first). OpenAI's
TorchScript ``.pt`` is no state dict: save ``torch.jit.load(path,
map_location='cpu').state_dict()`` first.

--head: a head file of ``tools/model_converters/clip_zeroshot_heads.py``,
joined to the result: a fine-tuned task's checkpoint for
``tools/merge_vits.py`` (the benchmark's heads stay the zero-shot ones).

DST is a ``.safetensors`` file with ``backbone.*`` keys (float32), plus
``head.*`` with ``--head``: the ``pretrained`` file of
``configs/merging/clip/`` without a head, a task's ``checkpoint`` with
one. The key mapping and the backbone settings are in
``adapterx/models/converters/clip.py``.
"""
import argparse

from adapterx.checkpoint.third_party import load_third_party_weights
from adapterx.models.converters import convert_clip_checkpoint
from adapterx.models.converters.cli import (add_conversion_arguments,
                                            save_converted)

HEAD_PREFIX = 'head.'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    add_conversion_arguments(parser, '.bin, .pth, .pt or .safetensors')
    parser.add_argument('--head',
                        help='a zero-shot head file (clip_zeroshot_heads.py)'
                        ' to join to the image tower')
    return parser.parse_args(argv)


def read_head(path, embed_dims):
    """The ``head.*`` tensors of a head file, checked against the tower's
    feature width ``embed_dims``.

    Raises:
        ValueError: The file holds other keys, or a head weight whose
            input width is not ``embed_dims``.
    """
    head = load_third_party_weights(path)
    others = [key for key in head if not key.startswith(HEAD_PREFIX)]
    if others or not head:
        raise ValueError(
            f'{path} is no head file: expected head.* tensors only (as '
            f'clip_zeroshot_heads.py writes), found {others[:5] or "none"}')
    wrong = [f'{key}: {tuple(value.shape)}' for key, value in head.items()
             if value.dim() == 2 and value.shape[1] != embed_dims]
    if wrong:
        raise ValueError(
            f'{path}: the head takes features of another width than the '
            f"image tower's {embed_dims} ({wrong})")
    return head


def main(argv=None):
    args = parse_args(argv)
    state_dict = convert_clip_checkpoint(args.src, trust=args.trust)
    meta = dict(converted_from=str(args.src))
    if args.head:
        state_dict.update(
            read_head(args.head, state_dict['backbone.proj'].shape[1]))
        meta['head'] = str(args.head)
    print(save_converted(state_dict, args.dst, meta))


if __name__ == '__main__':
    main()
