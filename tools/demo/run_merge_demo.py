"""A merging demo in one command on CPU: fine-tune the demo ViT on every
task of a merge config, merge the models with tools/merge_vits.py, and
tabulate accuracy and storage.

    python tools/demo/run_merge_demo.py CONFIG [--work-dir DIR]
        [--results-json FILE]

CONFIG is a merge config with a ``finetune`` config (e.g.
configs/merging/demo_merge.py: three tasks; demo_merge_domains.py: the
digits in five generated domains, merged with mixed heads;
demo_merge_12.py: twelve models). Every task is fine-tuned from the
config's ``pretrained`` weights with ``finetune``, its datasets replaced by
the task's ``train_data`` / ``test_data`` and its head sized to the test
data's classes, into ``DIR/<task>/``; then tools/merge_vits.py merges the
checkpoints into ``DIR/report/`` (its Markdown report, JSON and plot).
``--results-json`` writes the table with the commit, command and machine
(the README's merging tables come from docs/results/merge_*.json).
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import time

from mmengine.config import Config

from adapterx.registry import DATASETS, RUNNERS
from adapterx.utils import register_all_modules
from adapterx.utils.cpu_threads import configure_cpu_threads
from adapterx.utils.results import write_results
from adapterx.utils.tool_args import tool_description

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def finetune(cfg, task, work_dir):
    """Fine-tune ``cfg.finetune`` on ``task``'s data; its last checkpoint's
    path."""
    run = Config.fromfile(cfg.finetune)
    pipeline = run.train_dataloader.dataset.pipeline
    run.train_dataloader.dataset = dict(task['train_data'], pipeline=pipeline)
    run.val_dataloader.dataset = dict(task['test_data'], pipeline=pipeline)
    run.test_dataloader = run.val_dataloader
    classes = len(DATASETS.build(task['test_data']).metainfo['classes'])
    run.model.head.num_classes = classes
    run.data_preprocessor.num_classes = classes
    run.work_dir = work_dir
    run.launcher = 'none'
    run.log_level = 'WARNING'
    run.default_hooks.logger.interval = 1000
    RUNNERS.build(run).train()
    return osp.join(work_dir, f'epoch_{run.train_cfg.max_epochs}.pth')


def table(report):
    """The results table: a row per method of the merge report."""
    results = report['results']
    tasks = list(results[0]['accuracies'])
    individual = next(row['storage'] for row in results
                      if row['method'] == 'individual')
    header = ['method', *tasks, 'mean', 'storage (params)', 'x individual',
              'routed right %']

    def label(row):
        if row['m'] is None:
            return row['method']
        return f"{row['method']} m={row['m']} ({row['routing']})"

    rows = [[
        label(row), *[f"{row['accuracies'][task]:.2f}" for task in tasks],
        f"{row['mean']:.2f}", f"{row['storage']:,}",
        f"{row['storage'] / individual:.2f}",
        f"{sum(row['gate_accuracy'].values()) / len(tasks):.2f}"
        if row['gate_accuracy'] else '-'
    ] for row in results]
    return header, rows


def main():
    parser = argparse.ArgumentParser(description=tool_description(__doc__))
    parser.add_argument('config', help='a merge config with a finetune key')
    parser.add_argument('--work-dir', help='default: work_dirs/<config name>')
    parser.add_argument('--results-json',
                        help='also write the table, with the commit, command '
                        'and machine, to this JSON file')
    args = parser.parse_args()
    configure_cpu_threads()
    register_all_modules(init_default_scope=False)
    cfg = Config.fromfile(args.config)
    if 'finetune' not in cfg:
        raise KeyError(f'{args.config} has no finetune config (the '
                       'fine-tuning each task gets)')
    work_dir = args.work_dir or osp.join(
        'work_dirs', osp.splitext(osp.basename(args.config))[0])

    start = time.perf_counter()
    checkpoints = []
    for index, task in enumerate(cfg.tasks):
        print(f"[{index + 1}/{len(cfg.tasks)}] fine-tuning {task['name']}",
              flush=True)
        checkpoints.append(finetune(cfg, task,
                                    osp.join(work_dir, task['name'])))
    finetuning = time.perf_counter() - start

    report_dir = osp.join(work_dir, 'report')
    start = time.perf_counter()
    subprocess.run([sys.executable,
                    osp.join(REPO_ROOT, 'tools', 'merge_vits.py'),
                    args.config, '--work-dir', report_dir, '--checkpoints',
                    *checkpoints], check=True,
                   env=dict(os.environ, PYTHONPATH=REPO_ROOT))
    merging = time.perf_counter() - start
    print(f'fine-tuning {finetuning:.0f} s, merging {merging:.0f} s')

    if args.results_json:
        with open(osp.join(report_dir, 'merge_report.json')) as file:
            report = json.load(file)
        header, rows = table(report)
        write_results(args.results_json, cfg.demo_title, header, rows,
                      REPO_ROOT, data=dict(
                          finetuning_s=round(finetuning, 1),
                          merging_s=round(merging, 1),
                          results=report['results'],
                          settings=report['settings']))


if __name__ == '__main__':
    main()
