# VTAB-1k protocol of the PEFT literature (NOAH, Bi-AdaptFormer, DAPT):
# AdamW lr 1e-3, weight decay 1e-4, 100 epochs, 10 linear warm-up epochs,
# then cosine, batch 64.
max_epochs = 100
warmup_epochs = 10

optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=1e-4),
    clip_grad=None,
)

param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-3,
        by_epoch=True,
        begin=0,
        end=warmup_epochs,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs - warmup_epochs,
        eta_min=1e-8,
        by_epoch=True,
        begin=warmup_epochs,
        end=max_epochs),
]

train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=10)
val_cfg = dict()
test_cfg = dict()

auto_scale_lr = dict(base_batch_size=64)
