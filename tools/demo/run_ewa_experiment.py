"""The EWA experiment: dense vs random-partition MoE training, with EWA.

The same small ViT trained from scratch on scikit-learn's digits, dense and
as random-partition MoEs with and without Experts Weights Averaging, each
MoE converted back to the dense ViT.

    .venv/bin/python tools/demo/run_ewa_experiment.py [--seeds 0 1 2]
        [--work-dir DIR] [--results-json FILE] [--verbose]

Configs: configs/demo/{dense,ewa,rp-moe}_vit-demo_1xb32-20e_digits.py.
For each seed and method it prints the test accuracy of the model as
trained (MoEs evaluated with their experts averaged, their default), of
the MoE evaluated with random partitions as in training, and of the
converted dense model (``dense_final.safetensors``, tested with the dense config,
as ``tools/test.py`` does), plus the spread of the experts around their
mean (RMS over all expert weights) and the wall time; with more than one
seed, each method's mean and standard deviation over the seeds.
``--results-json`` writes the table with the commit, command and machine
(the README's table comes from docs/results/ewa_digits.json). The console
shows a progress bar per run and the table; mmengine's log of each run is
in its work dir (and on the console too with ``--verbose``).
"""
import argparse
import os.path as osp
import statistics
import time

from mmengine.config import Config

from adapterx.models.ewa import MoEFFN
from adapterx.registry import RUNNERS
from adapterx.utils import register_all_modules
from adapterx.utils.console import quiet_runner
from adapterx.utils.cpu_threads import configure_cpu_threads
from adapterx.utils.results import write_results
from adapterx.utils.tool_args import add_verbose_argument, tool_description

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG_DIR = osp.join(REPO_ROOT, 'configs', 'demo')
DENSE_CONFIG = 'dense_vit-demo_1xb32-20e_digits.py'
METHODS = {
    'Dense': DENSE_CONFIG,
    'RP-MoE + EWA': 'ewa_vit-demo_1xb32-20e_digits.py',
    'RP-MoE, averaged at end': 'rp-moe_vit-demo_1xb32-20e_digits.py',
}


def build_runner(config_name, work_dir, seed, description, verbose,
                 load_from=None):
    cfg = Config.fromfile(osp.join(CONFIG_DIR, config_name))
    cfg.work_dir = work_dir
    cfg.launcher = 'none'
    cfg.randomness = dict(cfg.randomness, seed=seed)
    cfg.load_from = load_from
    quiet_runner(cfg, verbose, training=description)
    return RUNNERS.build(cfg)


def evaluate(runner) -> float:
    return runner.test()['accuracy/top1']


def run_method(method, config_name, work_dir, seed, verbose):
    start = time.perf_counter()
    runner = build_runner(config_name, work_dir, seed,
                          f'{method}, seed {seed}', verbose)
    runner.train()
    seconds = time.perf_counter() - start
    row = dict(trained=evaluate(runner), seconds=seconds)
    moes = [m for m in runner.model.modules() if isinstance(m, MoEFFN)]
    if not moes:
        return row
    row['spread'] = statistics.mean(
        float(moe.expert_spread()) for moe in moes)
    for moe in moes:
        moe.eval_mode = 'experts'
    row['partitioned'] = evaluate(runner)
    dense_runner = build_runner(
        DENSE_CONFIG, osp.join(work_dir, 'dense_test'), seed,
        'converted dense', verbose,
        load_from=osp.join(work_dir, 'dense_final.safetensors'))
    row['converted'] = evaluate(dense_runner)
    return row


HEADER = ('seed', 'method', 'as trained', 'MoE, random partitions',
          'converted dense', 'expert spread', 'time s')
# Row keys of the columns after seed and method, and their formats.
COLUMNS = (('trained', '.2f'), ('partitioned', '.2f'), ('converted', '.2f'),
           ('spread', '.2e'), ('seconds', '.1f'))


def cell(values, pattern):
    """One cell: a value, or mean ± standard deviation over seeds."""
    if not values:
        return '-'
    if len(values) == 1:
        return format(values[0], pattern)
    return (f'{format(statistics.mean(values), pattern)} ± '
            f'{format(statistics.stdev(values), pattern)}')


def table_rows(runs, seeds):
    rows = [[str(seed), method] +
            [cell([row[key]] if key in row else [], pattern)
             for key, pattern in COLUMNS] for seed, method, row in runs]
    if len(seeds) > 1:
        for method in METHODS:
            method_runs = [row for _, name, row in runs if name == method]
            rows.append([f'mean ± sd ({len(seeds)} seeds)', method] + [
                cell([row[key] for row in method_runs if key in row],
                     pattern) for key, pattern in COLUMNS
            ])
    return rows


def main():
    parser = argparse.ArgumentParser(description=tool_description(__doc__))
    parser.add_argument(
        '--work-dir',
        default='work_dirs/ewa_experiment',
        help='where each seed and method writes its run')
    parser.add_argument(
        '--seeds',
        type=int,
        nargs='+',
        default=[0],
        help='one run of each method per seed')
    parser.add_argument(
        '--results-json',
        help='also write the table, with the commit, command and machine, '
        'to this JSON file (docs/results/ewa_digits.json for the README)')
    add_verbose_argument(parser)
    args = parser.parse_args()
    configure_cpu_threads()
    register_all_modules(init_default_scope=False)

    runs = []
    for seed in args.seeds:
        for method, config_name in METHODS.items():
            work_dir = osp.join(args.work_dir, f'seed{seed}',
                                osp.splitext(config_name)[0])
            runs.append((seed, method,
                         run_method(method, config_name, work_dir, seed,
                                    args.verbose)))

    title = ('EWA experiment (small ViT from scratch, scikit-learn digits; '
             'test top-1 %)')
    rows = table_rows(runs, args.seeds)
    print(f'\n{title}')
    for row in [HEADER, ['---'] * len(HEADER), *rows]:
        print('| ' + ' | '.join(row) + ' |')
    if args.results_json:
        write_results(args.results_json, title, HEADER, rows, REPO_ROOT,
                      data=[dict(seed=seed, method=method, **row)
                            for seed, method, row in runs])

if __name__ == '__main__':
    main()
