# The naive MoE baseline of the EWA paper (arXiv 2308.06093): the MoEs of
# ./moe_random_partition.py (every other block, 4 experts that start as
# copies of the dense FFN) behind a linear top-1 router whose probability
# scales the expert's output, with Switch Transformer's load-balancing loss
# (weight 0.01 [choice]). It stays an MoE: evaluated routed, never
# converted.
_base_ = ['./moe_random_partition.py']
peft = dict(
    moe=dict(type='Top1MoE', eval_mode='experts', balance_loss_weight=0.01))
custom_hooks = [
    dict(type='ParameterFreezeHook', verify_frozen=False),
]
