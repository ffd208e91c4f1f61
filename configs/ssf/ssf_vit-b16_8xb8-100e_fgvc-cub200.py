# SSF on ViT-B/16 for FGVC: configs/adapterx_vitb_fgvc.py with the
# PEFT part replaced (CUB200 here; other datasets as in
# configs/adapterx/).
_base_ = [
    '../_base_/protocols/vit-b16_8xb8-100e_fgvc.py',
    '../_base_/peft/ssf.py',
]
model = dict(peft={{_base_.peft}})
