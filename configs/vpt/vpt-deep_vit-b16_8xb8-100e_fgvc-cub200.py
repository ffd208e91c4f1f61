# VPT-deep on ViT-B/16 (ImageNet-21k) for FGVC: the bases of
# configs/adapterx_vitb_fgvc.py (CUB-200 by default), only the PEFT part
# differs.
_base_ = [
    '../_base_/protocols/vit-b16_8xb8-100e_fgvc.py',
    '../_base_/peft/vpt_deep.py',
]
model = dict(peft={{_base_.peft}})
