# The hooks of every PEFT base config: ParameterFreezeHook applies the
# trainable set the method declares (the model froze itself when it was
# built; the hook verifies that frozen weights never change and writes the
# counts to trainable_parameters.json), and the trainable tensors are saved
# every 10 epochs.
custom_hooks = [
    dict(type='ParameterFreezeHook'),
    dict(type='TrainableCheckpointHook', interval=10),
]
