# Linear probing of the test ViT: the freezing machinery on the tiny data.
_base_ = ['./vit_tiny_fullft.py', '../_base_/peft/linear_probe.py']
model = dict(peft={{_base_.peft}})
