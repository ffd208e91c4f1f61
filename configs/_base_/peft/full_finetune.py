# Full fine-tuning: every parameter trains (the reference PEFT methods are
# compared against). The hook only reports the counts.
peft = dict(type='FullFineTune')
custom_hooks = [
    dict(type='ParameterFreezeHook', verify_frozen=False),
]
