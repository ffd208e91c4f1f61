"""Compare PEFT methods: trainable parameters and accuracies, as a table
(printed, Markdown, CSV) and the accuracy-vs-trainable-parameters plot.

    python tools/analysis_tools/compare_methods.py
        (--methods NAME=WORK_DIR ... | --root DIR)
        [--convention {2d,3d}] [--metric accuracy/top1] [--out-dir DIR]

Each WORK_DIR is one task's work dir or a folder of task work dirs
(``<WORK_DIR>/<task>/``, as ``tools/run_vtab.py --work-dir-root`` lays
them out); ``--root DIR`` takes every folder of DIR as a method
(``DIR/<method>/<task>/``). A task's work dir must hold
``trainable_parameters.json`` (written by the config's ParameterFreezeHook)
and ``test_metrics.json`` (``tools/test.py --dump-metrics``).

``--convention 2d`` (default) counts trainable parameters without the head
as a % of the backbone, ``3d`` with the head as a % of the model. VTAB-1k
tasks get their group means and the mean of the group means. Writes
``comparison.md``, ``comparison.csv`` and ``accuracy_vs_params.png`` to
``--out-dir`` (default: ``--root``, else the current directory).
"""
import argparse
import os
import os.path as osp

from adapterx.evaluation import compare_methods, discover_methods
from adapterx.evaluation.method_comparison import CONVENTIONS
from adapterx.utils.tool_args import tool_description


def parse_args():
    parser = argparse.ArgumentParser(description=tool_description(__doc__))
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        '--methods', nargs='+', metavar='NAME=WORK_DIR',
        help="each method's name and work dir (one task's, or a folder of "
        'task work dirs)')
    source.add_argument('--root', help='folder of <method>/<task>/ dirs')
    parser.add_argument(
        '--convention', choices=list(CONVENTIONS), default='2d',
        help='2d: trainable parameters without the head, as a %% of the '
        'backbone; 3d: with the head, as a %% of the model')
    parser.add_argument('--metric', default='accuracy/top1',
                        help='key of test_metrics.json to tabulate')
    parser.add_argument(
        '--out-dir',
        help='where the table and plot go (default: --root, else the '
        'current directory)')
    args = parser.parse_args()
    if args.methods:
        malformed = [item for item in args.methods if '=' not in item]
        if malformed:
            parser.error(f'--methods takes NAME=WORK_DIR, got {malformed}')
        methods = dict(item.split('=', 1) for item in args.methods)
        if len(methods) != len(args.methods):
            parser.error('--methods names a method twice')
        args.methods = methods
    return args


def main():
    args = parse_args()
    methods = args.methods or discover_methods(args.root)
    table = compare_methods(methods, args.convention, args.metric)
    markdown = table.markdown()
    print(markdown)
    out_dir = args.out_dir or args.root or '.'
    os.makedirs(out_dir, exist_ok=True)
    with open(osp.join(out_dir, 'comparison.md'), 'w') as file:
        file.write(markdown + '\n')
    with open(osp.join(out_dir, 'comparison.csv'), 'w') as file:
        file.write(table.csv())
    plot = osp.join(out_dir, 'accuracy_vs_params.png')
    table.plot(plot)
    print(f'Wrote comparison.md, comparison.csv and {osp.basename(plot)} '
          f'to {out_dir}')


if __name__ == '__main__':
    main()
