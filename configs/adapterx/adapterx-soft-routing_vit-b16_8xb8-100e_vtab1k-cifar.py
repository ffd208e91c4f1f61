# Ablation of Adapter-X on ViT-B/16, VTAB-1k cifar: every expert weighted by
# its routing probability instead of top-1; the rest as
# adapterx_vit-b16_8xb8-100e_vtab1k-cifar.py, the full method. Settings and
# sources: docs/methods.md, "Adapter-X".
_base_ = [
    '../_base_/protocols/vit-b16_8xb8-100e_vtab1k.py',
    '../_base_/peft/adapterx_soft_routing.py',
]
model = dict(peft={{_base_.peft}})
