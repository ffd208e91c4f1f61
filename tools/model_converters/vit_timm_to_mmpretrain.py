"""Convert Google ``.npz`` / timm ViT weights for mmpretrain's ViT.

    python tools/model_converters/vit_timm_to_mmpretrain.py SRC DST
        [--keep-head] [--trust-checkpoint] [--verbose]

SRC: Google's ``ViT-B_16.npz`` (or an AugReg ``.npz``), or timm's
``.safetensors`` / ``.pth`` / ``.bin`` of a plain ViT such as
``vit_base_patch16_224.augreg_in21k``. ``--trust-checkpoint`` allows full
unpickling of a ``.pth`` that holds more than tensors (only for files whose
origin you trust).

DST is a ``.safetensors`` file (tensors and JSON metadata, no pickle) with
``ImageClassifier`` keys: ``backbone.*`` for the
:class:`~mmpretrain.models.VisionTransformer`, plus ``head.layers.*`` with
``--keep-head``. It loads in two ways:

- the backbone alone, in a config (the way to fine-tune on a new task)::

      backbone=dict(type='VisionTransformer', ...,
                    init_cfg=dict(type='Pretrained', checkpoint=DST,
                                  prefix='backbone.'))

- the whole classifier, converted with ``--keep-head`` for a head of the
  source's classes: ``load_from = DST`` in a config (or ``tools/test.py
  CONFIG DST``), or ``adapterx.engine.load_checkpoint(model, DST)``. Under
  a PEFT config the backbone's tensors go to the wrapped backbone
  (``backbone.module.*``) and the modules the method added keep their
  initialisation. A source with Google's ``pre_logits`` layer (the original
  ``ViT-B_16.npz``) needs ``head.hidden_dim`` set to its width.

Every route is strict: a file that does not fit the model (missing,
unexpected or differently shaped tensors) is refused with the names.
mmengine's own ``load_checkpoint`` is not, and does not know PEFT wrappers.

The backbone settings under which the result matches timm are in the
docstring of ``adapterx/models/converters/vit_timm.py``.
"""
import argparse

from adapterx.models.converters import convert_vit_checkpoint
from adapterx.models.converters.cli import (add_conversion_arguments,
                                            save_converted)
from adapterx.utils.console import quiet_tool_logger
from adapterx.utils.tool_args import tool_description


def parse_args():
    parser = argparse.ArgumentParser(description=tool_description(__doc__))
    add_conversion_arguments(parser,
                             '.npz, .safetensors, .pth, .pt or .bin')
    parser.add_argument(
        '--keep-head',
        action='store_true',
        help='keep the classifier (head.layers.*) instead of dropping it; '
        "a source with Google's pre_logits layer then needs head.hidden_dim "
        'set to its width in the config that loads DST')
    return parser.parse_args()


def main():
    args = parse_args()
    quiet_tool_logger('vit_timm_to_mmpretrain', args.verbose)
    state_dict = convert_vit_checkpoint(
        args.src,
        keep_head=args.keep_head,
        trust=args.trust_checkpoint,
        prefix='backbone.')
    print(save_converted(
        state_dict, args.dst,
        dict(converted_from=str(args.src), keep_head=args.keep_head)))


if __name__ == '__main__':
    main()
