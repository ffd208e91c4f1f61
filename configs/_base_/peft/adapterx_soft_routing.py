# Ablation of token-level allocation: every expert weighted by its routing
# probability instead of top-1.
_base_ = ['./adapterx.py']
peft = dict(soft_routing=True)
