# Full fine-tuning of ViT-B/16 (ImageNet-21k) on VTAB-1k cifar: the dense
# baseline of ./ewa_vit-b16_8xb8-100e-lr1e-4_vtab1k-cifar.py and the config that tests its
# converted model. The VTAB-1k protocol with lr 1e-4 [choice: every weight
# trains, 1e-3 is for adapters].
_base_ = ['../_base_/protocols/vit-b16_8xb8-100e_vtab1k.py']
optim_wrapper = dict(optimizer=dict(lr=1e-4))
