# The EWA experiment: ./dense_vit-demo_1xb32-20e_digits.py with EWA (random-partition
# MoEs in blocks 1, 3, 5, expert averaging after every step, the dense model
# saved at the end).
_base_ = [
    './dense_vit-demo_1xb32-20e_digits.py',
    '../_base_/peft/ewa.py',
]
model = dict(peft={{_base_.peft}})
