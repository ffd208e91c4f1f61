"""The demo: adapt a pretrained small ViT to handwritten digits with
Adapter-X, next to full fine-tuning and linear probing of the same backbone.

    .venv/bin/python tools/demo/run_digits_demo.py [--work-dir DIR]

The backbone (tools/demo/vit_demo_shapes.pth) was pretrained on generated
shapes by tools/demo/pretrain_demo_vit.py; the digits ship with
scikit-learn. Prints test accuracy, trainable parameters and time per
method. Trainable parameters are given without the head, as a share of the
backbone (the 2D convention of the PEFT papers), and with it.
"""
import argparse
import os.path as osp
import time

from mmengine.config import Config

from adapterx.models.peft import trainable_parameter_report
from adapterx.registry import RUNNERS
from adapterx.utils import register_all_modules

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
METHODS = {
    'Adapter-X': 'digits_adapterx.py',
    'Full fine-tuning': 'digits_full_finetune.py',
    'Linear probing': 'digits_linear_probe.py',
}


def run(config_name, work_dir, max_epochs=None):
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', 'demo', config_name))
    cfg.work_dir = work_dir
    if max_epochs is not None:
        cfg.train_cfg.max_epochs = max_epochs
        cfg.train_cfg.val_interval = max_epochs
    cfg.launcher = 'none'
    cfg.default_hooks.logger.interval = 1000
    start = time.perf_counter()
    runner = RUNNERS.build(cfg)
    runner.train()
    metrics = runner.test()
    seconds = time.perf_counter() - start
    report = trainable_parameter_report(runner.model)
    return metrics['accuracy/top1'], report, seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--work-dir', default='work_dirs/digits_demo')
    parser.add_argument(
        '--max-epochs',
        type=int,
        help='stop every method after this many epochs (a quick check; the '
        'learning-rate schedule still spans the configs\' 10 epochs)')
    args = parser.parse_args()
    register_all_modules(init_default_scope=False)

    rows = []
    for method, config_name in METHODS.items():
        accuracy, report, seconds = run(
            config_name, osp.join(args.work_dir, osp.splitext(config_name)[0]),
            args.max_epochs)
        rows.append((method, accuracy, report, seconds))

    header = (f'{"method":<18} {"test acc %":>10} {"trainable w/o head":>19} '
              f'{"% backbone":>10} {"trainable w/ head":>18} {"time s":>7}')
    print('\nDigits demo (scikit-learn digits, ViT pretrained on shapes)')
    print(header)
    print('-' * len(header))
    for method, accuracy, report, seconds in rows:
        print(f'{method:<18} {accuracy:>10.2f} '
              f'{report.trainable_without_head:>19,} '
              f'{report.percent_of_backbone_without_head:>10.2f} '
              f'{report.trainable:>18,} {seconds:>7.1f}')


if __name__ == '__main__':
    main()
