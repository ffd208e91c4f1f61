# The tiny full fine-tuning run counted in iterations (8 of batch 8, two
# passes over the 32 images), validated and saved every 3: the config the
# tests resume iteration-based training with.
_base_ = ['./full-finetune_vit-tiny_1xb8-2e_tiny-images.py']

max_iters = 8
train_cfg = dict(
    _delete_=True, by_epoch=False, max_iters=max_iters, val_interval=3)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=4),
    dict(
        type='CosineAnnealingLR',
        T_max=max_iters - 4,
        by_epoch=False,
        begin=4,
        end=max_iters),
]
default_hooks = dict(
    checkpoint=dict(by_epoch=False, interval=3, max_keep_ckpts=5))
log_processor = dict(by_epoch=False)
