# DeiT-S / ViT-S trained from scratch on CIFAR-100, dense (the protocol base
# alone): the baseline of the EWA configs beside it, and the config that
# tests their converted models:
#   tools/test.py configs/ewa/dense_deit-s-p4_1xb128-300e_cifar100.py \
#       work_dirs/ewa_deit-s-p4_1xb128-300e_cifar100/dense_final.safetensors
_base_ = ['../_base_/protocols/deit-s-p4_1xb128-300e_cifar100.py']
