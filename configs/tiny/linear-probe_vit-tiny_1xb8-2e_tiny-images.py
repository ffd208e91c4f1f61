# Linear probing of the test ViT: the freezing machinery on the tiny data.
_base_ = [
    './full-finetune_vit-tiny_1xb8-2e_tiny-images.py',
    '../_base_/peft/linear_probe.py',
]
model = dict(peft={{_base_.peft}})
