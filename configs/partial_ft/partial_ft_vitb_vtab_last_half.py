# Partial fine-tuning, strategy last_half (ours): both units of blocks 6-11
# of 12 and the head.
_base_ = ['./partial_ft_vitb_vtab.py']
custom_hooks = [dict(type='PartialFineTuneHook', strategy='last_half'),
                dict(type='TrainableCheckpointHook', interval=10)]
