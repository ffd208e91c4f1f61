# AdaptFormer (arXiv 2205.13535): a bottleneck (r=8, ReLU) parallel to the
# MLP of every block on LN2's output, scaled by s=0.1, up-projection zero
# at the start. r=8 is the width of the VTAB-1k comparisons (the paper's
# video experiments use 64).
_base_ = ['./trainable_hooks.py']
peft = dict(type='AdaptFormer', bottleneck_dims=8, scale=0.1)
# Trainable: the adapters and the head.
