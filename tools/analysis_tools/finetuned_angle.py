"""Fine-tuned angles of the residual units between two checkpoints.

    python tools/analysis_tools/finetuned_angle.py PRETRAINED FINETUNED
        [--k K] [--end {largest,smallest}] [--without-norm]
        [--plot FILE.png] [--emit-config FILE.py --base-config CONFIG]
        [--trust-checkpoint]

Prints, for every group of identical units (a ViT's attention units, its
FFN units; a Swin stage's attention units, ...), its units ranked by the
angle between their PRETRAINED and FINETUNED weights (degrees, largest
first); each unit's LayerNorm is part of its angle unless
``--without-norm`` leaves it out. With ``--k``, the ``k`` units at the
``--end`` of each group's ranking are marked as selected, ``--plot``
highlights them, and ``--emit-config`` writes a config that inherits
``--base-config`` and trains exactly them and the head (its method
replaced by ``peft=dict(type='PartialFineTune', units=[...])``).

PRETRAINED: a bare backbone's state dict or a file with ``backbone.`` keys;
FINETUNED: a runner checkpoint (``epoch_N.pth``) or a trainable-only one
(``trainable_epoch_N.safetensors``, whose frozen units have angle 0).
"""
import argparse
import os.path as osp

from mmengine.config import Config

from adapterx.models.partial_ft import (checkpoint_unit_angles, rank_units,
                                        select_by_angle)
from adapterx.models.partial_ft.angle import ENDS
from adapterx.utils.tool_args import add_trust_argument, tool_description


def parse_args():
    parser = argparse.ArgumentParser(description=tool_description(__doc__))
    parser.add_argument('pretrained', help='pretrained weights file')
    parser.add_argument('finetuned', help='fine-tuned checkpoint file')
    parser.add_argument(
        '--k', type=int, help='select the k units of each group at --end')
    parser.add_argument(
        '--end', choices=ENDS, default='largest',
        help='which end of each ranking --k selects (large angles suit hard '
        'tasks, small angles easy ones)')
    parser.add_argument(
        '--without-norm', action='store_true',
        help="leave each unit's LayerNorm out of its angle (the attention's "
        "or FFN's weights alone)")
    parser.add_argument('--plot', help='draw the angles to this image file')
    parser.add_argument(
        '--emit-config',
        help='write a config training the selected units and the head')
    parser.add_argument(
        '--base-config', help='the config --emit-config inherits')
    add_trust_argument(parser, 'PRETRAINED and FINETUNED')
    args = parser.parse_args()
    if args.emit_config and (args.k is None or args.base_config is None):
        parser.error('--emit-config needs --k and --base-config')
    return args


def format_table(ranked, selected_names) -> str:
    width = max(len(unit.name) for units in ranked.values()
                for unit, _ in units)
    lines = []
    for group, units in ranked.items():
        lines.append(f'group {group} ({len(units)} units)')
        lines.append(f'  {"rank":>4}  {"unit":<{width}}  {"angle":>10}  '
                     'selected')
        for rank, (unit, angle) in enumerate(units, start=1):
            mark = '*' if unit.name in selected_names else ''
            lines.append(f'  {rank:>4}  {unit.name:<{width}}  '
                         f'{angle:>10.4f}  {mark}'.rstrip())
    return '\n'.join(lines)


def plot_angles(ranked, selected_names, path) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(
        len(ranked), 1, figsize=(8, 2.5 * len(ranked)), squeeze=False)
    for axis, (group, units) in zip(axes[:, 0], ranked.items()):
        in_depth_order = sorted(units, key=lambda pair: pair[0].block_index)
        axis.bar(
            [unit.block.rsplit('.', 1)[1] for unit, _ in in_depth_order],
            [angle for _, angle in in_depth_order],
            color=[
                'tab:orange' if unit.name in selected_names else 'tab:blue'
                for unit, _ in in_depth_order
            ])
        axis.set_title(f'{group} (orange: selected)' if selected_names
                       else group)
        axis.set_xlabel('block')
        axis.set_ylabel('angle (degrees)')
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def emit_config(path, base_config, unit_names, comment) -> None:
    method = Config(
        dict(model=dict(peft=dict(
            _delete_=True, type='PartialFineTune', units=unit_names))))
    with open(path, 'w') as file:
        file.write(f'{comment}\n_base_ = [{osp.abspath(base_config)!r}]\n'
                   f'{method.pretty_text}')


def main():
    args = parse_args()
    units, angles = checkpoint_unit_angles(
        args.pretrained, args.finetuned, trust=args.trust_checkpoint,
        include_norm=not args.without_norm)
    selected = [] if args.k is None else select_by_angle(
        units, angles, args.k, args.end)
    selected_names = {unit.name for unit in selected}
    ranked = rank_units(units, angles)
    norms = ', LayerNorms left out' if args.without_norm else ''
    print(f'Fine-tuned angles (degrees) of {len(units)} residual '
          f'units{norms}, {args.pretrained} -> {args.finetuned}')
    print(format_table(ranked, selected_names))
    if args.plot:
        plot_angles(ranked, selected_names, args.plot)
        print(f'Plot written to {args.plot}')
    if args.emit_config:
        emit_config(
            args.emit_config, args.base_config,
            [unit.name for unit in selected],
            f'# Written by tools/analysis_tools/finetuned_angle.py: trains '
            f'the {args.k} {args.end}-angle\n# residual units of each group '
            f'({args.pretrained} -> {args.finetuned}) and the head.')
        print(f'Config written to {args.emit_config}')


if __name__ == '__main__':
    main()
