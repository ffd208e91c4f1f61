# Linear probing on ViT-B/16 (ImageNet-21k), FGVC CUB-200: the FGVC protocol
# base and the method's PEFT base, nothing else changed. Another dataset: as
# ../_base_/datasets/fgvc.py shows. Settings and sources: docs/methods.md,
# "Linear probing" and "FGVC".
_base_ = [
    '../_base_/protocols/vit-b16_8xb8-100e_fgvc.py',
    '../_base_/peft/linear_probe.py',
]
model = dict(peft={{_base_.peft}})
