# Partial fine-tuning (arXiv 2312.15681): some residual units of the
# backbone and the head train, the rest stays at the pretrained weights.
# PartialFineTuneHook takes one of the eight strategies (attention_only and
# ffn_only are the paper's; head_only, first_half, last_half,
# attention_last_half, ffn_last_half and norms_and_biases are ours), a list
# of units, or a fine-tuned-angle selection; the units of each backbone are
# defined in adapterx/models/partial_ft/units.py. A config picks another
# selection by restating custom_hooks.
peft = None
custom_hooks = [
    dict(type='PartialFineTuneHook', strategy='attention_only'),
    dict(type='TrainableCheckpointHook', interval=10),
]
