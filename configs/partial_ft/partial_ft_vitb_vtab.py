# Partial fine-tuning of ViT-B/16 (ImageNet-21k) on VTAB-1k with the protocol
# of configs/adapterx_vitb_vtab.py (AdamW lr 1e-3, wd 1e-4, global batch 64,
# 100 epochs, drop path 0.1; cifar unless the task is overridden as there).
# The shared root of this folder; it trains the attention units (the
# paper's attention_only). One config per selection:
#   partial_ft_vitb_vtab_<strategy>.py          the eight strategies
#   fullft_vitb_vtab_reference.py               full fine-tuning, the
#                                               reference for the angles
#   partial_ft_vitb_vtab_angle_{largest,smallest}.py
#                                               units chosen by angle
_base_ = [
    '../_base_/protocols/vit-b16_8xb8-100e_vtab1k.py',
    '../_base_/peft/partial_ft.py',
]
model = dict(peft={{_base_.peft}})
