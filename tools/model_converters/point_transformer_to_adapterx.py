"""Convert an official Point-MAE / Point-BERT checkpoint to PointTransformer.

    python tools/model_converters/point_transformer_to_adapterx.py SRC DST
        [--format point-mae|point-bert] [--trust-checkpoint] [--verbose]

SRC: Point-MAE's ``pretrain.pth`` or Point-BERT's ``Point-BERT.pth`` (or a
fine-tuned checkpoint of either; its head is dropped). The format is
detected from the keys unless ``--format`` names it.
``--trust-checkpoint`` allows full unpickling of a file that holds more
than tensors and plain containers (only for files whose origin you trust).

DST is a ``.safetensors`` file (tensors and JSON metadata, no pickle) of
``backbone.*`` keys, for a config's backbone::

    backbone=dict(type='PointTransformer', arch='point-mae', ...,
                  init_cfg=dict(type='Pretrained', checkpoint=DST,
                                prefix='backbone.'))

Every backbone key is produced and every source key is either mapped or
one of the pretraining-only modules the converter knows to drop; anything
else stops the conversion with the keys named.
"""
import argparse

from adapterx.models import PointTransformer
from adapterx.models.converters import convert_point_checkpoint
from adapterx.models.converters.cli import (add_conversion_arguments,
                                            save_converted)
from adapterx.utils.console import quiet_tool_logger
from adapterx.utils.tool_args import tool_description


def parse_args():
    parser = argparse.ArgumentParser(description=tool_description(__doc__))
    add_conversion_arguments(parser, 'official .pth checkpoint')
    parser.add_argument(
        '--format',
        choices=sorted(PointTransformer.arch_zoo),
        help='source format (and backbone arch); detected when omitted')
    return parser.parse_args()


def main():
    args = parse_args()
    quiet_tool_logger('point_transformer_to_adapterx', args.verbose)
    result = convert_point_checkpoint(
        args.src, source_format=args.format, trust=args.trust_checkpoint)
    meta = dict(converted_from=str(args.src),
                source_format=result.source_format)
    print(f'{result.source_format}: '
          f'{save_converted(result.state_dict, args.dst, meta)}')
    print(f'dropped {len(result.discarded)} pretraining-only tensors')
    if result.initialised:
        print(f'initialised (absent from the checkpoint): '
              f'{", ".join(result.initialised)}')


if __name__ == '__main__':
    main()
