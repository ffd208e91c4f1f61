# Partial fine-tuning of the test ViT on the tiny data (seconds on a CPU);
# the tests pick the strategy with
# --cfg-options model.peft.strategy=<strategy>.
_base_ = [
    './full-finetune_vit-tiny_1xb8-2e_tiny-images.py',
    '../_base_/peft/partial_ft.py',
]
model = dict(peft={{_base_.peft}})
