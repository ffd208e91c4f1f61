# Baseline: the naive top-1 MoE of ./top1-moe_deit-s-p4_1xb128-300e_cifar100.py with
# "early EWA" (expert averaging during the first 30 of 300 epochs).
_base_ = [
    '../_base_/protocols/deit-s-p4_1xb128-300e_cifar100.py',
    '../_base_/peft/moe_top1_early_ewa.py',
]
model = dict(peft={{_base_.peft}})
