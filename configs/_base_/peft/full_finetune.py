# Full fine-tuning: every parameter trains (the reference PEFT methods are
# compared against). The hook only reports the counts.
peft = None
custom_hooks = [
    dict(type='ParameterFreezeHook', trainable=[r'.'], verify_frozen=False),
]
