"""Evaluate a checkpoint on a config's test set on the mmengine Runner.

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out FILE]
        [--dump-metrics FILE] [--tta] [--non-strict] [--cfg-options k=v ...]
        [--launcher {none,pytorch,slurm,mpi}]

CHECKPOINT is a runner checkpoint (epoch_N.pth), a trainable-only file
(trainable_epoch_N.safetensors, or .pth from older versions), applied on top
of the config's pretrained weights, or merged, dense or soup weights
(.safetensors). A CHECKPOINT that does not fit the config's model (another method, backbone
or task) is refused before testing, with the tensors at fault;
``--non-strict`` loads the tensors that fit instead.
``--tta`` evaluates with the config's test-time augmentation: its
``tta_pipeline`` makes several views of each sample and its ``tta_model``
averages their scores (Point-MAE's voting test in the point-cloud
configs).
"""
import argparse
import json

from mmengine.config import Config
from mmengine.evaluator import DumpResults

from adapterx.utils import register_all_modules
from adapterx.utils.tool_args import (add_common_arguments,
                                      add_non_strict_argument,
                                      apply_common_arguments, build_runner,
                                      finish_distributed, parse_common)


def parse_args():
    parser = argparse.ArgumentParser(description='Evaluate a checkpoint')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--out',
        help='dump the per-sample predictions to this pickle file '
        '(.pkl), for later analysis')
    parser.add_argument(
        '--dump-metrics',
        help='write the metrics to this JSON file (for tools that collect '
        'results, e.g. tools/run_vtab.py)')
    parser.add_argument(
        '--tta',
        action='store_true',
        help="average the scores of the config's tta_pipeline views "
        '(tta_model)')
    add_common_arguments(parser, 'CHECKPOINT')
    add_non_strict_argument(parser, 'CHECKPOINT')
    return parse_common(parser)


def use_test_time_augmentation(cfg, config_path):
    missing = [key for key in ('tta_model', 'tta_pipeline') if key not in cfg]
    if missing:
        raise ValueError(f'--tta needs {" and ".join(missing)} in '
                         f'{config_path}')
    cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
    cfg.tta_model.module = cfg.model
    cfg.model = cfg.tta_model


def main():
    args = parse_args()
    if args.out is not None and not args.out.endswith(('.pkl', '.pickle')):
        raise ValueError(f'--out must be a .pkl file, got {args.out!r}')
    register_all_modules(init_default_scope=False)
    cfg = Config.fromfile(args.config)
    apply_common_arguments(cfg, args)
    cfg.load_from = args.checkpoint
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.tta:
        use_test_time_augmentation(cfg, args.config)
    runner = build_runner(cfg)
    if args.out is not None:
        runner.test_evaluator.metrics.append(
            DumpResults(out_file_path=args.out))
    metrics = runner.test()
    print(metrics)
    if args.dump_metrics is not None and runner.rank == 0:
        with open(args.dump_metrics, 'w') as file:
            json.dump(metrics, file, indent=2)
    finish_distributed()


if __name__ == '__main__':
    main()
