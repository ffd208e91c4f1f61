# Partial fine-tuning, strategy head_only (ours): the head alone on the
# frozen backbone (a linear probe).
_base_ = ['./partial_ft_vitb_vtab.py']
custom_hooks = [dict(type='PartialFineTuneHook', strategy='head_only'),
                dict(type='TrainableCheckpointHook', interval=10)]
