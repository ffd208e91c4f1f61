# EWA on the test ViT and the tiny data (seconds on a CPU): the FFN of its
# second block becomes a random-partition MoE with expert averaging; the
# dense model saved at the end is tested with
# configs/tiny/full-finetune_vit-tiny_1xb8-2e_tiny-images.py.
_base_ = [
    './full-finetune_vit-tiny_1xb8-2e_tiny-images.py',
    '../_base_/peft/ewa.py',
]
model = dict(peft={{_base_.peft}})
