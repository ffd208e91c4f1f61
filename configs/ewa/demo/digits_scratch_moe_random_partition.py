# The EWA experiment's ablation: ./digits_scratch_dense.py with
# random-partition MoEs and no EWA, the experts averaged only at the end.
_base_ = ['./digits_scratch_dense.py',
          '../../_base_/peft/moe_random_partition.py']
model = dict(peft={{_base_.peft}})
