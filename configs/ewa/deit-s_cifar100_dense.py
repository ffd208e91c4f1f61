# DeiT-S / ViT-S trained from scratch on CIFAR-100, dense: the baseline of
# the EWA configs beside it, and the config that tests their converted
# models: tools/test.py configs/ewa/deit-s_cifar100_dense.py \
#     work_dirs/deit-s_cifar100_ewa/dense_final.safetensors
_base_ = [
    '../_base_/models/deit_small_p4_32px.py',
    '../_base_/datasets/cifar100.py',
    '../_base_/schedules/adamw_cosine_scratch.py',
    '../_base_/default_runtime.py',
]
