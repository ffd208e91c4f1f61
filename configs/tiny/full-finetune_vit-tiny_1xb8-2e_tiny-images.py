# Full fine-tuning of the test ViT on a small generated image folder: the
# config the tests and the distributed check train (seconds on a CPU).
_base_ = [
    '../_base_/models/vit_tiny_test.py',
    '../_base_/datasets/tiny_images.py',
    '../_base_/schedules/adamw_cosine.py',
    '../_base_/default_runtime.py',
]

max_epochs = 2
warmup_epochs = 1
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=0.1,
        by_epoch=True,
        begin=0,
        end=warmup_epochs,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs - warmup_epochs,
        by_epoch=True,
        begin=warmup_epochs,
        end=max_epochs),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=1)
default_hooks = dict(logger=dict(interval=1))
