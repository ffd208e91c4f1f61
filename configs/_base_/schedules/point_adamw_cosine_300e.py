# The Point-BERT / Point-MAE / DAPT fine-tuning schedule: ./adamw_cosine.py
# with AdamW lr 5e-4, weight decay 0.05, batch 32, 300 epochs (10 linear
# warm-up epochs, then cosine to 1e-6), gradient clipping at norm 10.
#
# Weight decay as in Point-MAE's and DAPT's optimizer builder
# (`add_weight_decay`, called with an empty skip list): none on 1-D
# parameters (norms, the head's BatchNorm, biases, prompt-generator gamma and
# beta, scales and shifts), on biases, and on parameters whose name contains
# 'token' (the class token); every other trainable tensor decays, including
# the class token's position `cls_pos` (its name has no 'token'). An expert
# pool stores its experts' biases stacked (`down_bias`, `up_bias`, one row
# per expert): each row is the bias of one expert's Linear layer there, so
# they do not decay either. Frozen parameters are not in the optimizer.
_base_ = ['./adamw_cosine.py']
max_epochs = 300
warmup_epochs = 10

optim_wrapper = dict(
    optimizer=dict(lr=5e-4, weight_decay=0.05),
    clip_grad=dict(_delete_=True, max_norm=10),
    paramwise_cfg=dict(
        custom_keys={
            '_delete_': True,
            'token': dict(decay_mult=0.0),
            '.down_bias': dict(decay_mult=0.0),
            '.up_bias': dict(decay_mult=0.0),
        }),
)

# The base's epochs are numbers by now: the scheduler is restated.
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
        eta_min=1e-6,
        by_epoch=True,
        begin=warmup_epochs,
        end=max_epochs),
]
train_cfg = dict(max_epochs=max_epochs)
auto_scale_lr = dict(base_batch_size=32)
