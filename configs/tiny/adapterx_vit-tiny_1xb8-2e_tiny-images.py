# Adapter-X on the test ViT: the method's training path on the tiny data
# (the tests also combine the tiny config with each ablation's PEFT base).
_base_ = [
    './full-finetune_vit-tiny_1xb8-2e_tiny-images.py',
    '../_base_/peft/adapterx.py',
]
model = dict(peft={{_base_.peft}})
