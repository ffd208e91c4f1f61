# The random-partition MoE of ./ewa_vit-tiny_1xb8-2e_tiny-images.py without EWA (experts
# averaged only at the end).
_base_ = [
    './full-finetune_vit-tiny_1xb8-2e_tiny-images.py',
    '../_base_/peft/moe_random_partition.py',
]
model = dict(peft={{_base_.peft}})
