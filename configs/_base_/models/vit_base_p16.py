# ViT-B/16 as mmpretrain defines it, set up the way the PEFT literature
# fine-tunes Google's ImageNet-21k weights: drop path 0.1, no dropout, a
# linear head on the class token.
_base_ = 'mmpretrain::_base_/models/vit-base-p16.py'

model = dict(
    backbone=dict(drop_rate=0.0, drop_path_rate=0.1, init_cfg=None),
    head=dict(
        num_classes=1000,
        loss=dict(_delete_=True, type='CrossEntropyLoss', loss_weight=1.0)),
)
