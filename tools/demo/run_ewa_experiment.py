"""The EWA experiment: dense vs random-partition MoE training, with EWA.

The same small ViT trained from scratch on scikit-learn's digits, dense and
as random-partition MoEs with and without Experts Weights Averaging, each
MoE converted back to the dense ViT.

    .venv/bin/python tools/demo/run_ewa_experiment.py [--seeds 0 1 2]
        [--work-dir DIR]

Configs: configs/ewa/demo/digits_scratch_{dense,ewa,moe_random_partition}.py.
For each seed and method it prints the test accuracy of the model as
trained (MoEs evaluated with their experts averaged, their default), of
the MoE evaluated with random partitions as in training, and of the
converted dense model (``dense_final.safetensors``, tested with the dense config,
as ``tools/test.py`` does), plus the spread of the experts around their
mean (RMS over all expert weights) and the wall time.
"""
import argparse
import os.path as osp
import statistics
import time

from mmengine.config import Config

from adapterx.models.ewa import MoEFFN
from adapterx.registry import RUNNERS
from adapterx.utils import register_all_modules

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG_DIR = osp.join(REPO_ROOT, 'configs', 'ewa', 'demo')
DENSE_CONFIG = 'digits_scratch_dense.py'
METHODS = {
    'Dense': DENSE_CONFIG,
    'RP-MoE + EWA': 'digits_scratch_ewa.py',
    'RP-MoE, averaged at end': 'digits_scratch_moe_random_partition.py',
}


def build_runner(config_name, work_dir, seed, load_from=None):
    cfg = Config.fromfile(osp.join(CONFIG_DIR, config_name))
    cfg.work_dir = work_dir
    cfg.launcher = 'none'
    cfg.randomness = dict(cfg.randomness, seed=seed)
    cfg.default_hooks.logger.interval = 1000
    cfg.load_from = load_from
    return RUNNERS.build(cfg)


def evaluate(runner) -> float:
    return runner.test()['accuracy/top1']


def run_method(config_name, work_dir, seed):
    start = time.perf_counter()
    runner = build_runner(config_name, work_dir, seed)
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
        load_from=osp.join(work_dir, 'dense_final.safetensors'))
    row['converted'] = evaluate(dense_runner)
    return row


def cell(row, key, pattern):
    return format(row[key], pattern) if key in row else '-'


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
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
    args = parser.parse_args()
    register_all_modules(init_default_scope=False)

    rows = []
    for seed in args.seeds:
        for method, config_name in METHODS.items():
            work_dir = osp.join(args.work_dir, f'seed{seed}',
                                osp.splitext(config_name)[0])
            rows.append((seed, method,
                         run_method(config_name, work_dir, seed)))

    print('\nEWA experiment (small ViT from scratch, scikit-learn digits; '
          'test top-1 %)')
    print('| seed | method | as trained | MoE, random partitions | '
          'converted dense | expert spread | time s |')
    print('|---|---|---|---|---|---|---|')
    for seed, method, row in rows:
        print(f'| {seed} | {method} | {row["trained"]:.2f} | '
              f'{cell(row, "partitioned", ".2f")} | '
              f'{cell(row, "converted", ".2f")} | '
              f'{cell(row, "spread", ".2e")} | {row["seconds"]:.1f} |')


if __name__ == '__main__':
    main()
