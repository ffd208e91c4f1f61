# The EWA experiment: ./digits_scratch_dense.py with EWA (random-partition
# MoEs in blocks 1, 3, 5, expert averaging after every step, the dense model
# saved at the end).
_base_ = ['./digits_scratch_dense.py', '../../_base_/peft/ewa.py']
model = dict(peft={{_base_.peft}})
