# Adapter-X on ViT-B/16, VTAB-1k cifar, with the router's multi-head split
# of the paper's figure (H=3 sub-tokens of 256 channels, each routed to its
# own expert; r=48 keeps ~0.20% of the backbone). Settings and sources:
# docs/methods.md, "Adapter-X".
_base_ = [
    '../_base_/protocols/vit-b16_8xb8-100e_vtab1k.py',
    '../_base_/peft/adapterx_multihead.py',
]
model = dict(peft={{_base_.peft}})
