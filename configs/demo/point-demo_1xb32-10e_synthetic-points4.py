# Pretrain the 3D demo's point transformer from scratch on four of the
# eight synthetic shapes (sphere, cube, cylinder, cone); the downstream
# demo adapts it to all eight, four of them unseen. Produces
# tools/demo/point_demo_shapes.pth via
# tools/demo/pretrain_demo_backbone.py points.
_base_ = [
    '../_base_/models/point_demo.py',
    '../_base_/datasets/synthetic_point_clouds.py',
    '../_base_/default_runtime.py',
]
model = dict(backbone=dict(init_cfg=None), head=dict(num_classes=4))
train_dataloader = dict(
    batch_size=32, dataset=dict(num_classes=4, num_samples=1200, seed=100))
val_dataloader = dict(dataset=dict(num_classes=4, seed=100))
test_dataloader = val_dataloader

max_epochs = 10
optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05),
    clip_grad=dict(max_norm=10))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 1, by_epoch=True,
         begin=1, end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=5)
val_cfg = dict()
test_cfg = dict()
default_hooks = dict(logger=dict(interval=20),
                     checkpoint=dict(interval=max_epochs))
