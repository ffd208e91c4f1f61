"""The offline VTAB-style proxy benchmark: PEFT methods on the nine tasks of
adapterx/datasets/proxy_vtab.py with the demo ViT, in VTAB-1k's protocol.

    .venv/bin/python tools/demo/run_proxy_benchmark.py [--quick]
        [--work-dir DIR] [--data-root DIR] [--backbone FILE]
        [--methods PEFT_BASE ...] [--tasks TASK ...] [--seeds N ...]
        [--learning-rates LR ...] [--keep-weights] [--results-json FILE]
        [--plot FILE]

Writes the task folders the data root lacks, then for each method (a PEFT
base of configs/_base_/peft/, on the digits demo's model and schedule)
and task:

1. one learning-rate sweep, the same grid for every method: train on
   train800 with seed 0 for each rate and evaluate on val200; the rate of
   the best val200 accuracy is that method's for that task (per task, as
   VTAB-1k does; of tied rates the smallest);
2. train on train800val200 with that rate, once per seed, and evaluate on
   test.

Each run writes its result to ``<work-dir>/runs/<method>/<task>/<run>/
result.json``, next to its config (``<method>_<task>.py``) and, with
``--keep-weights``, its trainable tensors at the end
(``trainable_epoch_<N>.safetensors``: what the routing diagnostics of
tools/analysis_tools/smoa_routing.py read with that config); a run whose
result is there is not run again, so an interrupted benchmark resumes
where it stopped. Prints a line per run with
the time left, then the table (each task's test top-1, mean over seeds;
the group means; the mean of the group means ± its standard deviation
over seeds; the trainable parameters without the head as a share of the
backbone and with the head as a share of the model, means over tasks) and
writes it with the raw results to ``--results-json`` (default
``<work-dir>/proxy_vtab.json``), and the accuracy-vs-parameters plot drawn
from that file to ``--plot`` (default: the JSON's name with ``.png``).

``--quick`` is a check of the whole path in about a minute: two tasks,
three methods, one seed, two learning rates, one epoch on 64 images,
evaluated on 64.
"""
import argparse
import copy
import json
import os
import os.path as osp
import time
import warnings

from mmengine.config import Config

from adapterx.datasets.proxy_vtab import PROXY_VTAB_TASKS, write_proxy_vtab
from adapterx.evaluation.proxy_benchmark import (best_learning_rate,
                                                 plot_results_file,
                                                 proxy_table)
from adapterx.models.peft import trainable_parameter_report
from adapterx.registry import RUNNERS
from adapterx.utils import register_all_modules
from adapterx.utils.cpu_threads import configure_cpu_threads
from adapterx.utils.results import write_results
from adapterx.utils.tool_args import tool_description

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
# The digits demo's model (the demo ViT and its pretrained weights),
# schedule, loaders' batch sizes and runtime; the method and the data are
# replaced per run.
DEMO_CONFIG = osp.join(REPO_ROOT, 'configs', 'demo',
                       'full-finetune_vit-demo_1xb32-10e_digits.py')
PEFT_DIR = osp.join(REPO_ROOT, 'configs', '_base_', 'peft')
# PEFT base -> the name the table shows, in the table's order.
METHODS = {
    'full_finetune': 'Full fine-tuning',
    'linear_probe': 'Linear probing',
    'bitfit': 'BitFit',
    'vpt_shallow': 'VPT-shallow',
    'vpt_deep': 'VPT-deep',
    'lora': 'LoRA',
    'adaptformer': 'AdaptFormer',
    'ssf': 'SSF',
    'fact_tt': 'FacT-TT',
    'fact_tk': 'FacT-TK',
    'convpass': 'Convpass',
    'adapterx': 'Adapter-X',
    'adapterx_dynamic_scale': 'Adapter-X, dynamic scale',
    'adapterx_smoa_only': 'Adapter-X ablation: SMoA only',
    'adapterx_smoa_pg': 'Adapter-X ablation: SMoA + PG',
    'adapterx_per_block_experts': 'Adapter-X ablation: per-block experts',
    'adapterx_soft_routing': 'Adapter-X ablation: soft routing',
}
# Log-spaced around the demo's rates (1e-3 for full fine-tuning, 1e-2 for
# adapters), wide enough for the methods that want either end.
LEARNING_RATES = (3e-4, 1e-3, 3e-3, 1e-2)
SEEDS = (0, 1, 2)
QUICK = dict(tasks=['proxy_digits', 'proxy_location'],
             methods=['linear_probe', 'lora', 'adapterx'], seeds=[0],
             learning_rates=[1e-3, 1e-2], epochs=1, subset=64)
# As the VTAB-1k configs: no augmentation; the PNGs are the model's size.
PIPELINE = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]
RESULT_FILE = 'result.json'


def task_table(tasks):
    """The task table as plain dicts, which a config (and its dump) and
    the results file hold."""
    return {task: PROXY_VTAB_TASKS[task]._asdict() for task in tasks}


def demo_backbone():
    """The weights file the digits demo's backbone loads."""
    return Config.fromfile(DEMO_CONFIG).model.backbone.init_cfg.checkpoint


def build_config(method, task, train_split, eval_split, lr, seed, work_dir,
                 args):
    """The config of one run: ``method``'s PEFT base on the demo's model,
    trained on ``train_split`` of ``task`` and tested on ``eval_split``."""
    cfg = Config.fromfile(DEMO_CONFIG)
    peft = Config.fromfile(osp.join(PEFT_DIR, f'{method}.py'))
    cfg.model.peft = peft.peft
    cfg.custom_hooks = [hook for hook in peft.custom_hooks
                        if hook['type'] != 'TrainableCheckpointHook']
    cfg.default_hooks.checkpoint = None
    cfg.default_hooks.logger.interval = 1000
    cfg.log_level = 'WARNING'
    cfg.model.backbone.init_cfg.checkpoint = args.backbone
    num_classes = PROXY_VTAB_TASKS[task].num_classes
    cfg.model.head.num_classes = num_classes
    # LoadImageFromFile gives BGR; the backbone was pretrained on RGB.
    cfg.data_preprocessor.update(num_classes=num_classes, to_rgb=True)

    def dataset(split):
        return dict(type='VTAB1k', data_root=args.data_root, task=task,
                    split=split, pipeline=PIPELINE,
                    tasks=task_table(PROXY_VTAB_TASKS),
                    indices=args.subset)

    cfg.train_dataloader.dataset = dataset(train_split)
    cfg.test_dataloader = dict(copy.deepcopy(cfg.test_dataloader),
                               dataset=dataset(eval_split))
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    if args.epochs is not None:
        cfg.train_cfg.max_epochs = args.epochs
    cfg.train_cfg.val_interval = cfg.train_cfg.max_epochs
    if args.keep_weights:
        # The trainable tensors at the end of the run (all of them for full
        # fine-tuning), for tools/analysis_tools/smoa_routing.py and the
        # like; the benchmark itself keeps results only.
        cfg.custom_hooks.append(dict(type='TrainableCheckpointHook',
                                     interval=cfg.train_cfg.max_epochs))
    cfg.optim_wrapper.optimizer.lr = lr
    cfg.randomness = dict(cfg.randomness, seed=seed)
    cfg.work_dir = work_dir
    cfg.launcher = 'none'
    # The runner dumps the config under this name: the method and task it
    # runs, not the demo config it started from.
    return Config(cfg.to_dict(), cfg_text=cfg.pretty_text,
                  filename=f'{method}_{task}.py')


def run_once(cfg):
    """Train and test; the result a run's ``result.json`` keeps."""
    start = time.perf_counter()
    runner = RUNNERS.build(cfg)
    runner.train()
    accuracy = runner.test()['accuracy/top1']
    report = trainable_parameter_report(runner.model)
    return dict(
        accuracy=accuracy,
        trainable_without_head=report.trainable_without_head,
        percent_of_backbone=report.percent_of_backbone_without_head,
        trainable_with_head=report.trainable,
        percent_of_model=report.percent_of_model_with_head,
        seconds=time.perf_counter() - start)


class Progress:
    """A line per run, with the time left at the mean time of the runs
    made so far."""

    def __init__(self, total):
        self.total, self.done, self.ran, self.seconds = total, 0, 0, 0.0

    def report(self, name, result, cached):
        self.done += 1
        if not cached:
            self.ran += 1
            self.seconds += result['seconds']
        left = self.total - self.done
        eta = (f'{left * self.seconds / self.ran / 60:.0f} min left'
               if self.ran else f'{left} runs left')
        how = 'done before' if cached else f'{result["seconds"]:.0f} s'
        print(f'[{self.done}/{self.total}] {name}: '
              f'{result["accuracy"]:.1f}% ({how}; {eta})', flush=True)


def run_or_resume(method, task, phase, lr, seed, args, progress):
    train_split, eval_split = {'sweep': ('train800', 'val200'),
                               'final': ('train800val200', 'test')}[phase]
    name = f'{phase}_lr{lr:g}_seed{seed}'
    work_dir = osp.join(args.work_dir, 'runs', method, task, name)
    path = osp.join(work_dir, RESULT_FILE)
    cached = osp.isfile(path)
    if cached:
        with open(path) as file:
            result = json.load(file)
    else:
        result = run_once(build_config(method, task, train_split, eval_split,
                                       lr, seed, work_dir, args))
        # Written last and atomically: its presence means the run finished.
        with open(path + '.partial', 'w') as file:
            json.dump(result, file, indent=2)
        os.replace(path + '.partial', path)
    progress.report(f'{method} {task} {name} ({eval_split})', result, cached)
    return result


def run_method(method, args, progress):
    """The method's record (adapterx.evaluation.proxy_benchmark)."""
    record = dict(method=METHODS.get(method, method), peft_base=method,
                  learning_rates={}, val_accuracies={}, test_accuracies={})
    finals = []
    for task in args.tasks:
        sweep = {lr: run_or_resume(method, task, 'sweep', lr, 0, args,
                                   progress)['accuracy']
                 for lr in args.learning_rates}
        lr = best_learning_rate(sweep)
        runs = [run_or_resume(method, task, 'final', lr, seed, args,
                              progress) for seed in args.seeds]
        record['learning_rates'][task] = lr
        record['val_accuracies'][task] = {f'{rate:g}': accuracy
                                          for rate, accuracy in sweep.items()}
        record['test_accuracies'][task] = [run['accuracy'] for run in runs]
        finals += runs
    for key in ('trainable_without_head', 'percent_of_backbone',
                'trainable_with_head', 'percent_of_model'):
        # Heads differ between tasks (class counts): means over tasks.
        record[key] = sum(run[key] for run in finals) / len(finals)
    return record


def parse_args():
    parser = argparse.ArgumentParser(description=tool_description(__doc__))
    parser.add_argument('--quick', action='store_true',
                        help='a check of the whole path: ' + ', '.join(
                            f'{key}={value}' for key, value in QUICK.items()))
    parser.add_argument('--work-dir', default='work_dirs/proxy_vtab',
                        help='where the data (unless --data-root), the runs '
                        'and the table go')
    parser.add_argument('--data-root',
                        help='the task folders, written where missing '
                        '(default: <work-dir>/data)')
    parser.add_argument('--backbone', default=demo_backbone(),
                        help='pretrained weights of the demo ViT '
                        '(default: the digits demo\'s, %(default)s)')
    parser.add_argument('--methods', nargs='+', metavar='PEFT_BASE',
                        help='PEFT bases of configs/_base_/peft/ (default: '
                        f'{" ".join(METHODS)})')
    parser.add_argument('--tasks', nargs='+', choices=list(PROXY_VTAB_TASKS),
                        help='the proxy tasks to run (default: all nine)')
    parser.add_argument('--seeds', nargs='+', type=int,
                        help='seeds of the final train800val200 runs '
                        '(default: 0 1 2)')
    parser.add_argument('--learning-rates', nargs='+', type=float,
                        help='the sweep\'s grid, the same for every method '
                        f'(default: {" ".join(map(str, LEARNING_RATES))})')
    parser.add_argument('--keep-weights', action='store_true',
                        help='save each run\'s trainable tensors at its end '
                        '(trainable_epoch_N.safetensors next to its '
                        'config, METHOD_TASK.py)')
    parser.add_argument('--results-json',
                        help='the table, with the commit, command and '
                        'machine (default: <work-dir>/proxy_vtab.json)')
    parser.add_argument('--plot',
                        help='the accuracy-vs-parameters PNG (default: '
                        'next to the results JSON)')
    args = parser.parse_args()
    defaults = QUICK if args.quick else dict(
        tasks=list(PROXY_VTAB_TASKS), methods=list(METHODS),
        seeds=list(SEEDS), learning_rates=list(LEARNING_RATES), epochs=None,
        subset=None)
    for key, value in defaults.items():
        if getattr(args, key, None) is None:
            setattr(args, key, value)
    unknown = [method for method in args.methods
               if not osp.isfile(osp.join(PEFT_DIR, f'{method}.py'))]
    if unknown:
        parser.error(f'--methods: no PEFT base {", ".join(unknown)} in '
                     f'{PEFT_DIR}')
    if not osp.isfile(args.backbone):
        parser.error(f'--backbone: {args.backbone} does not exist')
    args.data_root = args.data_root or osp.join(args.work_dir, 'data')
    args.results_json = args.results_json or osp.join(args.work_dir,
                                                      'proxy_vtab.json')
    args.plot = args.plot or osp.splitext(args.results_json)[0] + '.png'
    return args


def main():
    # mmengine resolves the configs' mmpretrain:: bases through
    # pkg_resources (requirements/runtime.txt): the same warning every run.
    warnings.filterwarnings('ignore', 'pkg_resources is deprecated',
                            UserWarning)
    args = parse_args()
    configure_cpu_threads()
    register_all_modules(init_default_scope=False)
    written = write_proxy_vtab(args.data_root, args.tasks)
    if written:
        print(f'Wrote {", ".join(written)} to {args.data_root}')
    progress = Progress(
        len(args.methods) * len(args.tasks) *
        (len(args.learning_rates) + len(args.seeds)))
    records = [run_method(method, args, progress) for method in args.methods]

    title = ('Offline VTAB-style proxy (demo ViT, '
             f'{osp.basename(args.backbone)}; test top-1 %, '
             f'{len(args.seeds)} seed(s))')
    header, rows = proxy_table(
        records, {task: PROXY_VTAB_TASKS[task] for task in args.tasks})
    print(f'\n{title}')
    for row in [header, ['---'] * len(header), *rows]:
        print('| ' + ' | '.join(row) + ' |')
    data = dict(tasks=task_table(args.tasks),
                backbone=osp.relpath(args.backbone, REPO_ROOT),
                seeds=args.seeds, learning_rates=args.learning_rates,
                epochs=args.epochs, subset=args.subset, methods=records)
    write_results(args.results_json, title, header, rows, REPO_ROOT,
                  data=data)
    plot_results_file(args.results_json, args.plot)
    print(f'Wrote {args.results_json} and {args.plot}')


if __name__ == '__main__':
    main()
