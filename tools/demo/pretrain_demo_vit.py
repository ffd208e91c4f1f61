"""Pretrain the demo's small ViT on SyntheticShapes and save its backbone.

    .venv/bin/python tools/demo/pretrain_demo_vit.py [--work-dir DIR]

Made tools/demo/vit_demo_shapes.pth (committed; ~2 minutes on 2 CPU
cores). The file holds the backbone's tensors only, under mmpretrain
VisionTransformer keys; the task head is dropped, as with any pretrained
backbone.
"""
import argparse
import os.path as osp

import torch
from mmengine.config import Config

from adapterx.registry import RUNNERS
from adapterx.utils import register_all_modules

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO_ROOT, 'configs', 'demo', 'vit_demo_shapes_pretrain.py')
OUTPUT = osp.join(REPO_ROOT, 'tools', 'demo', 'vit_demo_shapes.pth')


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--work-dir', default='work_dirs/vit_demo_pretrain')
    parser.add_argument('--out', default=OUTPUT)
    args = parser.parse_args()

    register_all_modules(init_default_scope=False)
    cfg = Config.fromfile(CONFIG)
    cfg.work_dir = args.work_dir
    cfg.launcher = 'none'
    runner = RUNNERS.build(cfg)
    runner.train()
    backbone = runner.model.backbone.state_dict()
    torch.save({key: value.clone() for key, value in backbone.items()},
               args.out)
    print(f'Saved {len(backbone)} backbone tensors '
          f'({sum(v.numel() for v in backbone.values()):,} parameters) '
          f'to {args.out}')


if __name__ == '__main__':
    main()
