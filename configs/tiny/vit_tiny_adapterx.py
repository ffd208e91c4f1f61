# Adapter-X on the test ViT: the method's training path on the tiny data
# (the tests also combine the tiny config with each ablation's PEFT base).
_base_ = ['./vit_tiny_fullft.py', '../_base_/peft/adapterx.py']
model = dict(peft={{_base_.peft}})
