# Ablation: SMoA alone (no prompt generator, block norms frozen).
_base_ = ['./adapterx.py']
peft = dict(prompt_generator=None)
custom_hooks = [
    dict(
        type='ParameterFreezeHook',
        trainable=[
            r'^backbone\.expert_pools\.', r'\.adapterx\.', r'\.cls_token$',
            r'^head\.'
        ]),
    dict(type='TrainableCheckpointHook', interval=10),
]
