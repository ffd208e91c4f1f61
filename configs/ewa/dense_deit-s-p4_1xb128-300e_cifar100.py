# DeiT-S / ViT-S trained from scratch on CIFAR-100, dense (the protocol base
# alone): the baseline of the EWA configs beside it, and the config that
# tests their converted models (work_dir/dense_final.safetensors). Settings
# and sources: docs/methods.md, "CIFAR-100 from scratch".
_base_ = ['../_base_/protocols/deit-s-p4_1xb128-300e_cifar100.py']
