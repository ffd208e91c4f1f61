"""Train a model from a config on the mmengine Runner.

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp]
        [--auto-scale-lr] [--no-validate] [--no-pin-memory]
        [--no-persistent-workers] [--seed N] [--deterministic]
        [--non-strict] [--trust-checkpoint] [--cfg-options k=v ...]
        [--launcher {none,pytorch,slurm,mpi}]

The flags of mmpretrain's tools/train.py work as there; --cfg-options is
applied last, so it overrides what the other flags set. Without a GPU,
torch uses half the cores (``OMP_NUM_THREADS`` wins; see
``adapterx/utils/cpu_threads.py``).
"""
import argparse

from mmengine.config import Config

from adapterx.utils import register_all_modules
from adapterx.utils.cpu_threads import configure_cpu_threads_without_gpu
from adapterx.utils.tool_args import (add_common_arguments,
                                      add_dataloader_arguments,
                                      add_non_strict_argument,
                                      apply_common_arguments,
                                      apply_dataloader_arguments,
                                      build_runner, finish_distributed,
                                      parse_common, tool_description)


def build_parser():
    parser = argparse.ArgumentParser(description=tool_description(__doc__))
    parser.add_argument('config', help='train config file path')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        metavar='CKPT',
        help='resume from CKPT, or from the latest checkpoint in the work '
        'dir when no CKPT is given')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='automatic mixed precision training (AmpOptimWrapper, dynamic '
        'loss scale)')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help="scale the learning rate by the actual batch size over the "
        "config's auto_scale_lr.base_batch_size")
    parser.add_argument('--seed', type=int, help='random seed')
    parser.add_argument(
        '--deterministic',
        action='store_true',
        help='deterministic algorithms (slower, reproducible)')
    parser.add_argument(
        '--no-validate',
        action='store_true',
        help='skip validation during training')
    add_dataloader_arguments(parser, persistent_workers=True)
    add_common_arguments(parser, 'the resumed or loaded checkpoint')
    add_non_strict_argument(parser, 'the resumed or loaded checkpoint')
    return parser


def parse_args(argv=None):
    return parse_common(build_parser(), argv)


def merge_args(cfg, args):
    apply_common_arguments(cfg, args)
    apply_dataloader_arguments(cfg, args)
    if args.amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.auto_scale_lr:
        if 'base_batch_size' not in (cfg.get('auto_scale_lr') or {}):
            raise ValueError(
                f'--auto-scale-lr: {args.config} sets no auto_scale_lr.'
                'base_batch_size, the batch size its learning rate is for; '
                'add e.g. auto_scale_lr = dict(base_batch_size=64) to it')
        cfg.auto_scale_lr.enable = True
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    if args.seed is not None:
        cfg.randomness = dict(cfg.get('randomness', {}), seed=args.seed)
    if args.deterministic:
        cfg.randomness = dict(cfg.get('randomness', {}), deterministic=True)
    if args.no_validate:
        cfg.val_cfg = None
        cfg.val_dataloader = None
        cfg.val_evaluator = None
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    return cfg


def main():
    args = parse_args()
    configure_cpu_threads_without_gpu()
    register_all_modules(init_default_scope=False)
    cfg = merge_args(Config.fromfile(args.config), args)
    build_runner(cfg).train()
    finish_distributed()


if __name__ == '__main__':
    main()
