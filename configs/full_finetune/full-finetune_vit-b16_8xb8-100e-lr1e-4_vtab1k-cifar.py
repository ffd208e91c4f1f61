# Full fine-tuning of ViT-B/16 (ImageNet-21k) on VTAB-1k cifar at lr 1e-4
# [choice: every weight trains, 1e-3 is the adapters' rate]: the dense
# reference of configs/ewa/ewa_vit-b16_8xb8-100e-lr1e-4_vtab1k-cifar.py and
# the config that tests its converted model. Settings and sources:
# docs/methods.md, "Full fine-tuning" and "VTAB-1k".
_base_ = ['../_base_/protocols/vit-b16_8xb8-100e_vtab1k.py']
optim_wrapper = dict(optimizer=dict(lr=1e-4))
