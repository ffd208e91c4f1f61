# Ablation of inter-block sharing: every block gets a pool of its own (12x
# the expert parameters on ViT-B).
_base_ = ['./adapterx.py']
peft = dict(sharing_groups='per_block')
