# DeiT-S / ViT-S from scratch on CIFAR-100 with random-partition MoEs and no
# EWA, the experts averaged only at the end
# (work_dir/dense_final.safetensors; test it with the dense config).
# Settings and sources: docs/methods.md, "EWA" and "CIFAR-100 from scratch".
_base_ = [
    '../_base_/protocols/deit-s-p4_1xb128-300e_cifar100.py',
    '../_base_/peft/moe_random_partition.py',
]
model = dict(peft={{_base_.peft}})
