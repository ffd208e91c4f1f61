# DeiT-S / ViT-S from scratch on CIFAR-100 as a naive top-1 MoE (router and
# load-balancing loss), evaluated routed. Settings and sources:
# docs/methods.md, "EWA" and "CIFAR-100 from scratch".
_base_ = [
    '../_base_/protocols/deit-s-p4_1xb128-300e_cifar100.py',
    '../_base_/peft/moe_top1.py',
]
model = dict(peft={{_base_.peft}})
