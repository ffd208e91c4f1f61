# Full fine-tuning of ViT-B/16 (ImageNet-21k) on VTAB-1k cifar: the dense
# baseline of ./vit-b_vtab_cifar_ewa.py and the config that tests its
# converted model. The VTAB-1k protocol of ../_base_/schedules/adamw_cosine.py
# with lr 1e-4 [choice: every weight trains, 1e-3 is for adapters].
_base_ = [
    '../_base_/models/vit_base_p16.py',
    '../_base_/datasets/vtab1k.py',
    '../_base_/schedules/adamw_cosine.py',
    '../_base_/default_runtime.py',
]
model = dict(head=dict(num_classes=100))
optim_wrapper = dict(optimizer=dict(lr=1e-4))
# The batch of 64 is the global batch: 8 GPUs x 8 per GPU.
train_dataloader = dict(batch_size=8)
auto_scale_lr = dict(base_batch_size=64)
