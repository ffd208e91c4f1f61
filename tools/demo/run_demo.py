"""The demos: adapt a small pretrained backbone with Adapter-X, next to
full fine-tuning and linear probing of the same backbone.

    .venv/bin/python tools/demo/run_demo.py [{digits,points}]
        [--work-dir DIR] [--max-epochs N] [--results-json FILE] [--verbose]

``digits`` (the default, 2D): a small ViT pretrained on 200 fractal
categories (tools/demo/vit_demo_fractal.safetensors) adapted to
scikit-learn's handwritten digits. ``points`` (3D): a small point transformer pretrained
on four generated primitive shapes (tools/demo/point_demo_shapes.pth)
adapted to all eight. Both backbones were pretrained by
tools/demo/pretrain_demo_backbone.py.

Prints test accuracy, trainable parameters and time per method. Trainable
parameters are given both ways the papers count them: without the head,
as a share of the backbone (the 2D convention), and with the head, as a
share of the whole model (the 3D convention). ``--results-json`` writes
the table with the commit, command and machine (the README's tables come
from docs/results/demo_{digits,points}.json). The console shows a progress
bar per method and the table; mmengine's log of each run is in its work
dir (and on the console too with ``--verbose``).
"""
import argparse
import os.path as osp
import time

from mmengine.config import Config

from adapterx.models.peft import trainable_parameter_report
from adapterx.registry import RUNNERS
from adapterx.utils import register_all_modules
from adapterx.utils.console import quiet_runner
from adapterx.utils.cpu_threads import configure_cpu_threads
from adapterx.utils.results import write_results
from adapterx.utils.tool_args import add_verbose_argument, tool_description

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
METHODS = ('Adapter-X', 'Full fine-tuning', 'Linear probing')
HEADER = ('method', 'test acc %', 'trainable w/o head', '% of backbone',
          'trainable w/ head', '% of model', 'time s')
# The config name prefix of each of METHODS.
DEMO_METHODS = ('adapterx', 'full-finetune', 'linear-probe')
# demo -> (title, config of each method)
DEMOS = {
    'digits': ('Digits demo (scikit-learn digits, ViT pretrained on fractals)',
               tuple(f'{method}_vit-demo_1xb32-10e_digits.py'
                     for method in DEMO_METHODS)),
    'points': ('Points demo (8 generated shapes, point transformer '
               'pretrained on 4)',
               tuple(f'{method}_point-demo_1xb16-10e_synthetic-points8.py'
                     for method in DEMO_METHODS)),
}


def run(method, config_name, work_dir, max_epochs=None, verbose=False):
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', 'demo', config_name))
    cfg.work_dir = work_dir
    if max_epochs is not None:
        cfg.train_cfg.max_epochs = max_epochs
        cfg.train_cfg.val_interval = max_epochs
    cfg.launcher = 'none'
    quiet_runner(cfg, verbose, training=method)
    start = time.perf_counter()
    runner = RUNNERS.build(cfg)
    runner.train()
    metrics = runner.test()
    seconds = time.perf_counter() - start
    report = trainable_parameter_report(runner.model)
    return metrics['accuracy/top1'], report, seconds


def main():
    parser = argparse.ArgumentParser(description=tool_description(__doc__))
    parser.add_argument(
        'demo', nargs='?', default='digits', choices=sorted(DEMOS),
        help='digits (2D, the default) or points (3D)')
    parser.add_argument(
        '--work-dir',
        help="where each method's run goes (default: "
        'work_dirs/<demo>_demo)')
    parser.add_argument(
        '--max-epochs',
        type=int,
        help='stop every method after this many epochs (a quick check; the '
        'learning-rate schedule still spans the configs\' 10 epochs)')
    parser.add_argument(
        '--results-json',
        help='also write the table, with the commit, command and machine, '
        'to this JSON file (docs/results/demo_<demo>.json for the README)')
    add_verbose_argument(parser)
    args = parser.parse_args()
    configure_cpu_threads()
    register_all_modules(init_default_scope=False)

    rows = []
    title, config_names = DEMOS[args.demo]
    work_dir = args.work_dir or f'work_dirs/{args.demo}_demo'
    for method, config_name in zip(METHODS, config_names):
        accuracy, report, seconds = run(
            method, config_name,
            osp.join(work_dir, osp.splitext(config_name)[0]),
            args.max_epochs, args.verbose)
        rows.append([
            method, f'{accuracy:.2f}', f'{report.trainable_without_head:,}',
            f'{report.percent_of_backbone_without_head:.2f}',
            f'{report.trainable:,}',
            f'{report.percent_of_model_with_head:.2f}', f'{seconds:.1f}'
        ])

    widths = [max(len(cell) for cell in column)
              for column in zip(HEADER, *rows)]
    print(f'\n{title}')
    for row in [HEADER, ['-' * width for width in widths], *rows]:
        print('  '.join(cell.rjust(width) if index else cell.ljust(width)
                        for index, (cell, width) in enumerate(
                            zip(row, widths))))
    if args.results_json:
        write_results(args.results_json, title, HEADER, rows, REPO_ROOT)


if __name__ == '__main__':
    main()
