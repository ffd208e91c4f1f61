# VTAB-1k protocol of the PEFT literature (NOAH, Bi-AdaptFormer, DAPT):
# AdamW lr 1e-3, weight decay 1e-4, 100 epochs, 10 linear warm-up epochs,
# then cosine, batch 64.
#
# Weight decay as in NOAH's code, which builds AdamW with timm's optimizer
# factory: none on 1-D parameters (norms, biases, prompt-generator gamma and
# beta, scales and shifts), on biases, and on the ViT's `no_weight_decay()`
# set, the class token and the position embedding; every other trainable
# tensor decays (prompts, adapters, LoRA and FacT factors, the head's
# weight). An expert pool stores its experts' biases stacked (`down_bias`,
# `up_bias`, one row per expert): each row is the bias of one expert's
# Linear layer there, so they do not decay either. Frozen parameters are not
# in the optimizer.
max_epochs = 100
warmup_epochs = 10

optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=1e-4),
    clip_grad=None,
    paramwise_cfg=dict(
        flat_decay_mult=0.0,
        bias_decay_mult=0.0,
        custom_keys={
            '.cls_token': dict(decay_mult=0.0),
            '.pos_embed': dict(decay_mult=0.0),
            '.down_bias': dict(decay_mult=0.0),
            '.up_bias': dict(decay_mult=0.0),
        }),
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
