# Linear probing: the head alone trains on the frozen backbone.
peft = None
custom_hooks = [
    dict(type='ParameterFreezeHook', trainable=[r'^head\.']),
    dict(type='TrainableCheckpointHook', interval=10),
]
