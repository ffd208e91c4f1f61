# Pretrain the demo ViT from scratch on SyntheticShapes (a task unlike the
# downstream digits). Produces tools/demo/vit_demo_shapes.pth via
# tools/demo/pretrain_demo_backbone.py digits.
_base_ = [
    '../_base_/models/vit_demo.py',
    '../_base_/datasets/in_memory_32px.py',
    '../_base_/default_runtime.py',
]
train_dataloader = dict(
    batch_size=64,
    dataset=dict(type='SyntheticShapes', num_per_class=600, seed=0))
val_dataloader = dict(
    dataset=dict(type='SyntheticShapes', num_per_class=50, seed=1))
test_dataloader = val_dataloader

max_epochs = 12
optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=2e-3, weight_decay=0.05),
    clip_grad=dict(max_norm=1.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 1, by_epoch=True,
         begin=1, end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=4)
val_cfg = dict()
test_cfg = dict()
default_hooks = dict(logger=dict(interval=50),
                     checkpoint=dict(interval=max_epochs))

# Trained from scratch: nothing to load yet.
model = dict(backbone=dict(init_cfg=None))
