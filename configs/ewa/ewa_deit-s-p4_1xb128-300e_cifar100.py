# DeiT-S / ViT-S from scratch on CIFAR-100 with EWA: random-partition MoEs
# in every other block, Experts Weights Averaging after every step, the
# dense model saved at the end (work_dir/dense_final.safetensors; test it
# with the dense config). Settings and sources: docs/methods.md, "EWA" and
# "CIFAR-100 from scratch".
_base_ = [
    '../_base_/protocols/deit-s-p4_1xb128-300e_cifar100.py',
    '../_base_/peft/ewa.py',
]
model = dict(peft={{_base_.peft}})
