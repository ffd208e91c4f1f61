# DeiT-S / ViT-S trained from scratch on CIFAR-100 (the EWA paper's
# from-scratch setting): the model (../models/deit_small_p4_32px.py: 4x4
# patches of the 32x32 images, drop path 0.1, label smoothing 0.1), the data
# (../datasets/cifar100.py: random crop and flip, batch 128), the schedule
# (../schedules/adamw_cosine_scratch.py: AdamW lr 1e-3 for batch 128, weight
# decay 0.05, 300 epochs, 5 warm-up, cosine) and the runtime. The settings
# and their sources: docs/methods.md, "CIFAR-100 from scratch".
_base_ = [
    '../models/deit_small_p4_32px.py',
    '../datasets/cifar100.py',
    '../schedules/adamw_cosine_scratch.py',
    '../default_runtime.py',
]
