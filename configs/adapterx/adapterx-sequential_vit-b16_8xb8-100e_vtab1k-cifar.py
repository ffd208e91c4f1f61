# The teaser's sequential 2D variant ("Adapter-X" there) on ViT-B/16,
# VTAB-1k cifar: the SMoA after the MLP, in Houlsby et al.'s adapter
# position; adapterx_vit-b16_8xb8-100e_vtab1k-cifar.py is the parallel one
# (the teaser's "AdaptFormer-X"). Same parameters, so the same ~0.20% of
# the backbone. Settings and sources: docs/methods.md, "Adapter-X".
_base_ = [
    '../_base_/protocols/vit-b16_8xb8-100e_vtab1k.py',
    '../_base_/peft/adapterx_sequential.py',
]
model = dict(peft={{_base_.peft}})
