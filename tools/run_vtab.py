"""Train and test a method on all 19 VTAB-1k tasks, then print the table.

    python tools/run_vtab.py [CONFIG] [--gpus N] [--tasks T ...]
        [--work-dir-root DIR] [--collect-only] [--cfg-options k=v ...]
        [--verbose]

CONFIG is either a template naming one config per task with ``{task}``
(by default ``configs/adapterx/adapterx_vit-b16_8xb8-100e_vtab1k-{task}.py``;
``{task}`` as config names spell it: oxford-flowers102), or one
method config for all tasks (e.g.
``configs/lora/lora_vit-b16_8xb8-100e_vtab1k-cifar.py``): then each task is
selected on the command line (the three datasets' ``task``, the head's and the
data preprocessor's ``num_classes``, from ``VTAB1K_TASKS``), plus the
per-task settings the config lists in ``vtab_task_options`` (``{task:
{nested overrides}}``, e.g. FacT's rank and scale). Each task trains
on train800val200 (tools/train.py, or tools/dist_train.sh with --gpus > 1)
into ``<work-dir-root>/<task>``, its final checkpoint is tested on the test
split, and the table (each task, each group's mean, the mean of the three
group means and the mean of all 19 tasks) is printed and written to
``<work-dir-root>/vtab_results.{md,json}``. The table holds every task
with a result in ``<work-dir-root>``: ``--tasks`` runs some tasks and adds
them to those of earlier runs. --collect-only skips training and testing
and tabulates the ``test_metrics.json`` files already there.

The console shows a progress bar over the tasks, with the time left, and
the table; what training and testing print goes to
``<work-dir-root>/<task>/run_vtab.log`` (and to the console too with
``--verbose``). A failing step stops the run with the end of its log.
"""
import argparse
import json
import os
import os.path as osp
import shlex
import subprocess
import sys

from mmengine.config import Config

from adapterx.datasets.vtab1k import VTAB1K_TASKS
from adapterx.evaluation import summarise_vtab
from adapterx.utils.console import progress_bar
from adapterx.utils.tool_args import tool_description

TOOLS = osp.dirname(osp.abspath(__file__))
DEFAULT_TEMPLATE = osp.join(
    osp.dirname(TOOLS), 'configs', 'adapterx',
    'adapterx_vit-b16_8xb8-100e_vtab1k-{task}.py')
# Lines of a failed step's log shown with the error.
LOG_TAIL_LINES = 40


def parse_args():
    parser = argparse.ArgumentParser(description=tool_description(__doc__))
    parser.add_argument(
        'template', nargs='?', default=DEFAULT_TEMPLATE,
        help='a config path with {task} in it (one config per task), or one '
        'method config for all tasks (default: Adapter-X\'s per-task '
        'configs)')
    parser.add_argument(
        '--gpus', type=int, default=1,
        help='GPUs per task; more than 1 trains with tools/dist_train.sh')
    parser.add_argument(
        '--tasks', nargs='+', default=list(VTAB1K_TASKS),
        choices=list(VTAB1K_TASKS), metavar='TASK',
        help='run only these tasks (default: all 19)')
    parser.add_argument(
        '--work-dir-root', default='work_dirs/vtab',
        help='each task runs in WORK_DIR_ROOT/<task>; the table goes here')
    parser.add_argument(
        '--collect-only', action='store_true',
        help='run nothing; tabulate the results already in WORK_DIR_ROOT')
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        help='passed to training and testing of every task')
    parser.add_argument(
        '--verbose', action='store_true',
        help='show what training and testing print on the console, not a '
        'progress bar (run_vtab.log in each task work dir has it either '
        'way)')
    return parser.parse_args()


def run(command, log_path, verbose):
    """Run ``command``; its output is appended to ``log_path`` and, if
    ``verbose``, shown. A failure raises RuntimeError with the end of
    the log."""
    os.makedirs(osp.dirname(log_path), exist_ok=True)
    with open(log_path, 'a') as log:
        log.write(f'+ {shlex.join(command)}\n')
        log.flush()
        process = subprocess.Popen(command, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True)
        for line in process.stdout:
            log.write(line)
            if verbose:
                print(line, end='', flush=True)
    if process.wait() != 0:
        with open(log_path) as log:
            tail = ''.join(log.readlines()[-LOG_TAIL_LINES:])
        raise RuntimeError(f'{shlex.join(command)} failed (exit status '
                           f'{process.returncode}); the end of {log_path}:'
                           f'\n{tail}')


def flatten_options(options, prefix=''):
    """``{'model': {'peft': {'rank': 8}}}`` -> ``['model.peft.rank=8']``."""
    flat = []
    for key, value in options.items():
        if isinstance(value, dict):
            flat += flatten_options(value, f'{prefix}{key}.')
        else:
            flat.append(f'{prefix}{key}={value}')
    return flat


def task_options(config, task):
    """--cfg-options that turn one method config into ``task``'s."""
    num_classes = VTAB1K_TASKS[task].num_classes
    options = [
        f'{split}_dataloader.dataset.task={task}'
        for split in ('train', 'val', 'test')
    ] + [
        f'data_preprocessor.num_classes={num_classes}',
        f'model.head.num_classes={num_classes}',
    ]
    per_task = Config.fromfile(config).get('vtab_task_options') or {}
    unknown = sorted(set(per_task) - set(VTAB1K_TASKS))
    if unknown:
        raise ValueError(f'vtab_task_options of {config} names {unknown}, '
                         f'which are not VTAB-1k tasks '
                         f'({", ".join(VTAB1K_TASKS)})')
    return options + flatten_options(per_task.get(task, {}))


def train_and_test(task, args):
    if '{task}' in args.template:
        config = args.template.format(task=task.replace('_', '-'))
        selection = []
    else:
        config = args.template
        selection = task_options(config, task)
    if not osp.isfile(config):
        raise FileNotFoundError(f'No config for VTAB-1k task {task!r}: '
                                f'{config}')
    work_dir = osp.join(args.work_dir_root, task)
    log_path = osp.join(work_dir, 'run_vtab.log')
    # Later options win: the user's --cfg-options override the task's.
    cfg_options = selection + args.cfg_options
    options = ['--cfg-options', *cfg_options] if cfg_options else []
    if args.gpus > 1:
        run([osp.join(TOOLS, 'dist_train.sh'), config, str(args.gpus),
             '--work-dir', work_dir, *options], log_path, args.verbose)
    else:
        run([sys.executable, osp.join(TOOLS, 'train.py'), config,
             '--work-dir', work_dir, *options], log_path, args.verbose)
    with open(osp.join(work_dir, 'last_checkpoint')) as file:
        checkpoint = file.read().strip()
    run([sys.executable, osp.join(TOOLS, 'test.py'), config, checkpoint,
         '--work-dir', work_dir, '--dump-metrics',
         osp.join(work_dir, 'test_metrics.json'), *options], log_path,
        args.verbose)


def collect(work_dir_root):
    """Task -> test accuracy of every task with a result under
    ``work_dir_root``: those of earlier runs of other tasks too."""
    accuracies = {}
    for task in VTAB1K_TASKS:
        path = osp.join(work_dir_root, task, 'test_metrics.json')
        if osp.isfile(path):
            with open(path) as file:
                accuracies[task] = json.load(file)['accuracy/top1']
    return accuracies


def main():
    args = parse_args()
    if not args.collect_only:
        with progress_bar(disable=args.verbose) as progress:
            bar = progress.add_task('VTAB-1k', total=len(args.tasks))
            for task in args.tasks:
                progress.update(bar, description=f'VTAB-1k: {task}')
                train_and_test(task, args)
                progress.advance(bar)
            progress.update(bar, description='VTAB-1k')
    summary = summarise_vtab(collect(args.work_dir_root))
    table = summary.markdown()
    print(table)
    if summary.missing:
        print(f'No result yet for: {", ".join(summary.missing)}')
    os.makedirs(args.work_dir_root, exist_ok=True)
    with open(osp.join(args.work_dir_root, 'vtab_results.md'), 'w') as file:
        file.write(table + '\n')
    with open(osp.join(args.work_dir_root, 'vtab_results.json'), 'w') as file:
        json.dump(vars(summary), file, indent=2)


if __name__ == '__main__':
    main()
