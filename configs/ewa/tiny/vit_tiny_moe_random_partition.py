# The random-partition MoE of ./vit_tiny_ewa.py without EWA (experts
# averaged only at the end).
_base_ = ['../../tiny/vit_tiny_fullft.py',
          '../../_base_/peft/moe_random_partition.py']
model = dict(peft={{_base_.peft}})
