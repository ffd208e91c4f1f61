# The demo's small ViT (./vit_demo.py) from random initialisation instead
# of its pretrained weights.
_base_ = ['./vit_demo.py']
model = dict(backbone=dict(init_cfg=None))
