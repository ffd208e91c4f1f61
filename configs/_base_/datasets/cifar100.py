# CIFAR-100 with mmpretrain's reader (the python version under
# data/cifar100, downloaded there when missing): 50,000 training and
# 10,000 test images of 32x32, random crop with 4-pixel padding and
# horizontal flip; batch 128 per GPU.
_base_ = 'mmpretrain::_base_/datasets/cifar100_bs16.py'
train_dataloader = dict(batch_size=128, num_workers=4)
val_dataloader = dict(batch_size=128, num_workers=4)
test_dataloader = val_dataloader
