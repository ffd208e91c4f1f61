# Training a ViT from scratch on CIFAR-sized data [choice]: AdamW lr 1e-3
# (batch 128), weight decay 0.05 except, as DeiT's timm optimizer factory
# does, on 1-D parameters (norms, biases), on biases (an MoE layer's stacked
# expert biases too) and on the position embedding and the class token;
# 300 epochs, 5 linear warm-up epochs, then cosine to 1e-5 at the last epoch
# (its end follows train_cfg.max_epochs).
warmup_epochs = 5

optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05),
    paramwise_cfg=dict(
        flat_decay_mult=0.0,
        bias_decay_mult=0.0,
        custom_keys={
            '.pos_embed': dict(decay_mult=0.0),
            '.cls_token': dict(decay_mult=0.0),
        }),
)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0,
         end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=True,
         begin=warmup_epochs, convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=300, val_interval=10)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=128)
