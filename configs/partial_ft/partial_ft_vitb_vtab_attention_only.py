# Partial fine-tuning, strategy attention_only (paper): the attention unit
# (LN1 + attention) of every block and the head.
_base_ = ['./partial_ft_vitb_vtab.py']
custom_hooks = [dict(type='PartialFineTuneHook', strategy='attention_only'),
                dict(type='TrainableCheckpointHook', interval=10)]
