# Adapter-X on ViT-B/16 (ImageNet-21k), FGVC CUB200 (200 classes): the FGVC
# protocol base and Adapter-X's PEFT base, nothing else changed. The
# settings and their sources: docs/methods.md, "Adapter-X" and "FGVC".
# The other datasets: adapterx_vit-b16_8xb8-100e_fgvc-<dataset>.py beside it.
_base_ = [
    '../_base_/protocols/vit-b16_8xb8-100e_fgvc.py',
    '../_base_/peft/adapterx.py',
]
model = dict(peft={{_base_.peft}})
