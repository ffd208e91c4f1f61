# "Early EWA" on the naive top-1 MoE of ./moe_top1.py: Experts Weights
# Averaging (share rate 0.3 [choice]) during the first 30 epochs only
# [choice: a tenth of the 300-epoch from-scratch schedule], then the MoE
# trains on as it is; evaluated routed.
_base_ = ['./moe_top1.py']
custom_hooks = [
    dict(type='ParameterFreezeHook', verify_frozen=False),
    dict(type='EWAHook', share_rate=0.3, interval=1, ewa_epochs=30),
]
