# Baseline: DeiT-S / ViT-S from scratch on CIFAR-100 as a naive top-1 MoE
# (router and load-balancing loss), evaluated routed.
_base_ = ['./deit-s_cifar100_dense.py', '../_base_/peft/moe_top1.py']
model = dict(peft={{_base_.peft}})
