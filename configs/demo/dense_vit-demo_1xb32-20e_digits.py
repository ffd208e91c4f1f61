# The EWA experiment (tools/demo/run_ewa_experiment.py): the demo's small
# ViT trained from scratch on scikit-learn's digits, dense. Also the config
# that tests the MoE runs' converted models.
_base_ = [
    '../_base_/models/vit_demo_scratch.py',
    '../_base_/datasets/sklearn_digits.py',
    '../_base_/schedules/adamw_cosine_scratch.py',
    '../_base_/default_runtime.py',
]
# 20 epochs of batch 32 (the base's lr, unscaled): CPU minutes, the same
# for every method compared.
max_epochs = 20
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
auto_scale_lr = dict(base_batch_size=32)
default_hooks = dict(checkpoint=dict(interval=max_epochs))
