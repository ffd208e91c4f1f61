# Baseline: the naive top-1 MoE of ./deit-s_cifar100_moe_top1.py with
# "early EWA" (expert averaging during the first 30 of 300 epochs).
_base_ = ['./deit-s_cifar100_dense.py', '../_base_/peft/moe_top1_early_ewa.py']
model = dict(peft={{_base_.peft}})
