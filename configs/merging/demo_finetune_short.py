# The fine-tuning of the domain and twelve-model merging demos: full
# fine-tuning of the demo ViT with the digits demo's learning rate, for 4
# epochs, so that twelve models train in a few CPU minutes (the models
# stay within 0.2 of the pretrained weights' norm, as fine-tuned models
# do). tools/demo/run_merge_demo.py gives each task its data and head.
_base_ = ['./demo_finetune_digits.py']
max_epochs = 4
optim_wrapper = dict(optimizer=dict(lr=1e-3))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 1, by_epoch=True,
         begin=1, end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
