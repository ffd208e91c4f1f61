# The EWA experiment's ablation: ./dense_vit-demo_1xb32-20e_digits.py with
# random-partition MoEs and no EWA, the experts averaged only at the end.
_base_ = [
    './dense_vit-demo_1xb32-20e_digits.py',
    '../_base_/peft/moe_random_partition.py',
]
model = dict(peft={{_base_.peft}})
