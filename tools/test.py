"""Evaluate a checkpoint on a config's test set on the mmengine Runner.

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR]
        [--out FILE [--out-item {pred,metrics}]] [--dump-metrics FILE]
        [--amp] [--tta] [--show-dir DIR] [--show] [--interval N]
        [--wait-time S] [--no-pin-memory] [--non-strict]
        [--trust-checkpoint] [--cfg-options k=v ...]
        [--launcher {none,pytorch,slurm,mpi}]

CHECKPOINT is a runner checkpoint (epoch_N.pth), a trainable-only file
(trainable_epoch_N.safetensors, or .pth from older versions), applied on top
of the config's pretrained weights, or merged, dense or soup weights
(.safetensors). A CHECKPOINT that does not fit the config's model
(another method, backbone or task) is refused before testing, with the
tensors at fault; ``--non-strict`` loads the tensors that fit instead.
``--tta`` evaluates with the config's test-time augmentation: its
``tta_pipeline`` makes several views of each sample and its ``tta_model``
averages their scores (Point-MAE's voting test in the point-cloud
configs); a config without them gets mmpretrain's flip test-time
augmentation (each image and its mirror image, scores averaged).
The other flags work as in mmpretrain's tools/test.py; --cfg-options is
applied last, so it overrides what the other flags set. Without a GPU,
torch uses half the cores (``OMP_NUM_THREADS`` wins; see
``adapterx/utils/cpu_threads.py``).
"""
import argparse
import os.path as osp
from copy import deepcopy

import mmengine
from mmengine.config import Config, ConfigDict
from mmengine.evaluator import DumpResults

from adapterx.utils import register_all_modules
from adapterx.utils.cpu_threads import configure_cpu_threads_without_gpu
from adapterx.utils.tool_args import (add_common_arguments,
                                      add_dataloader_arguments,
                                      add_non_strict_argument,
                                      apply_common_arguments,
                                      apply_dataloader_arguments,
                                      build_runner, finish_distributed,
                                      parse_common, tool_description)

PICKLE_SUFFIXES = ('.pkl', '.pickle')
# The formats --out --out-item metrics writes, by suffix.
METRICS_FORMATS = {'.json': 'json', '.yaml': 'yaml', '.yml': 'yaml',
                   '.pkl': 'pkl', '.pickle': 'pkl'}


def metrics_format(path):
    return METRICS_FORMATS.get(osp.splitext(path)[1])


def build_parser():
    parser = argparse.ArgumentParser(description=tool_description(__doc__))
    parser.add_argument('config', help='test config file path')
    parser.add_argument(
        'checkpoint',
        help='runner checkpoint, trainable-only file, or merged, dense or '
        'soup weights')
    parser.add_argument(
        '--out',
        help='write the per-sample predictions (a .pkl file) or, with '
        '--out-item metrics, the metrics (.json, .yaml or .pkl) to this file')
    parser.add_argument(
        '--out-item',
        choices=['pred', 'metrics'],
        help='what --out holds: pred (the default) or metrics')
    parser.add_argument(
        '--dump-metrics',
        help='write the metrics to this JSON file, beside what --out writes '
        '(for the tools that collect results, e.g. tools/run_vtab.py)')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='automatic mixed precision test (test_cfg.fp16=True)')
    parser.add_argument(
        '--tta',
        action='store_true',
        help="test-time augmentation: the config's tta_pipeline views, "
        'scores averaged by its tta_model (flip views and averaged scores '
        'for a config without them)')
    parser.add_argument(
        '--show-dir',
        help="draw each sample's prediction into a PNG in this directory "
        "(the config's VisualizationHook)")
    parser.add_argument(
        '--show',
        action='store_true',
        help='display the drawn predictions in a window')
    parser.add_argument(
        '--interval',
        type=int,
        default=1,
        help='with --show / --show-dir, draw every N-th sample')
    parser.add_argument(
        '--wait-time',
        type=float,
        default=2,
        help='with --show, seconds each window stays open')
    add_dataloader_arguments(parser, persistent_workers=False)
    add_common_arguments(parser, 'CHECKPOINT')
    add_non_strict_argument(parser, 'CHECKPOINT')
    return parser


def parse_args(argv=None):
    parser = build_parser()
    args = parse_common(parser, argv)
    if args.out_item is not None and args.out is None:
        parser.error('--out-item needs --out FILE')
    if (args.out is not None and args.out_item in (None, 'pred')
            and not args.out.endswith(PICKLE_SUFFIXES)):
        parser.error(f'--out {args.out}: the predictions are written as a '
                     'pickle; name a .pkl file, or add --out-item metrics')
    if args.tta and (args.show or args.show_dir is not None):
        parser.error('--show / --show-dir draw single views: test without '
                     '--tta to draw the predictions')
    if args.out_item == 'metrics' and metrics_format(args.out) is None:
        parser.error(f'--out {args.out}: the metrics are written as JSON, '
                     'YAML or a pickle; name a .json, .yaml or .pkl file')
    return args


def use_test_time_augmentation(cfg):
    """The config's TTA model and pipeline in place of its model and test
    pipeline; mmpretrain's flip augmentation for those it lacks."""
    if 'tta_model' not in cfg:
        cfg.tta_model = dict(type='mmpretrain.AverageClsScoreTTA')
    if 'tta_pipeline' not in cfg:
        test_pipeline = cfg.test_dataloader.dataset.pipeline
        cfg.tta_pipeline = deepcopy(test_pipeline)
        cfg.tta_pipeline[-1] = dict(
            type='TestTimeAug',
            transforms=[[
                dict(type='RandomFlip', prob=1.),
                dict(type='RandomFlip', prob=0.)
            ], [test_pipeline[-1]]])
    cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
    cfg.model = ConfigDict(**cfg.tta_model, module=cfg.model)


def show_predictions(cfg, args):
    """Turn on the config's VisualizationHook as --show / --show-dir ask."""
    hook = (cfg.get('default_hooks') or {}).get('visualization')
    if hook is None:
        raise ValueError(
            f'--show / --show-dir: {args.config} has no '
            'default_hooks.visualization; add visualization=dict('
            "type='VisualizationHook') to its default_hooks")
    hook.update(enable=True, show=args.show, out_dir=args.show_dir,
                interval=args.interval, wait_time=args.wait_time)


def merge_args(cfg, args):
    # --cfg-options first, as mmpretrain's test.py: they address the
    # config's own model, which --tta then wraps.
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    apply_common_arguments(cfg, args)
    apply_dataloader_arguments(cfg, args)
    cfg.load_from = args.checkpoint
    if args.amp:
        cfg.test_cfg = dict(cfg.get('test_cfg') or {}, fp16=True)
    if args.show or args.show_dir is not None:
        show_predictions(cfg, args)
    if args.tta:
        use_test_time_augmentation(cfg)
    return cfg


def write_metrics(metrics, path, file_format):
    """``metrics`` to ``path`` as ``file_format`` (json, yaml or pkl)."""
    mmengine.mkdir_or_exist(osp.dirname(osp.abspath(path)))
    options = dict(indent=2) if file_format in ('json', 'yaml') else {}
    mmengine.dump(metrics, path, file_format=file_format, **options)


def main():
    args = parse_args()
    configure_cpu_threads_without_gpu()
    register_all_modules(init_default_scope=False)
    cfg = merge_args(Config.fromfile(args.config), args)
    runner = build_runner(cfg)
    if args.out is not None and args.out_item in (None, 'pred'):
        runner.test_evaluator.metrics.append(
            DumpResults(out_file_path=args.out))
    metrics = runner.test()
    print(metrics)
    if runner.rank == 0:
        if args.out is not None and args.out_item == 'metrics':
            write_metrics(metrics, args.out, metrics_format(args.out))
        if args.dump_metrics is not None:
            write_metrics(metrics, args.dump_metrics, 'json')
    finish_distributed()


if __name__ == '__main__':
    main()
