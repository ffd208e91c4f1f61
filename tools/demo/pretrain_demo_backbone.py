"""Pretrain a demo backbone from scratch and save it.

    .venv/bin/python tools/demo/pretrain_demo_backbone.py {digits,points}
        [--work-dir DIR] [--out FILE]

``digits``: the small ViT, on SyntheticShapes images; wrote
tools/demo/vit_demo_shapes.pth (~2 minutes on 2 CPU cores).
``points``: the small point transformer, on four of the eight
SyntheticPointClouds shapes; wrote tools/demo/point_demo_shapes.pth.

Both files are committed. They hold the backbone's tensors only, under the
backbone's own keys; the pretraining head is dropped, as with any
pretrained backbone.
"""
import argparse
import os.path as osp

import torch
from mmengine.config import Config

from adapterx.registry import RUNNERS
from adapterx.utils import register_all_modules

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
# demo -> (pretraining config, weights file)
PRETRAINING = {
    'digits': ('vit_demo_shapes_pretrain.py', 'vit_demo_shapes.pth'),
    'points': ('points_pretrain.py', 'point_demo_shapes.pth'),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('demo', choices=sorted(PRETRAINING))
    parser.add_argument('--work-dir')
    parser.add_argument('--out', help='defaults to the committed file')
    args = parser.parse_args()
    config_name, weights_name = PRETRAINING[args.demo]

    register_all_modules(init_default_scope=False)
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', 'demo', config_name))
    cfg.work_dir = args.work_dir or f'work_dirs/{args.demo}_demo_pretrain'
    cfg.launcher = 'none'
    runner = RUNNERS.build(cfg)
    runner.train()
    out = args.out or osp.join(REPO_ROOT, 'tools', 'demo', weights_name)
    backbone = runner.model.backbone.state_dict()
    torch.save({key: value.clone() for key, value in backbone.items()}, out)
    print(f'Saved {len(backbone)} backbone tensors '
          f'({sum(v.numel() for v in backbone.values()):,} values) to {out}')


if __name__ == '__main__':
    main()
