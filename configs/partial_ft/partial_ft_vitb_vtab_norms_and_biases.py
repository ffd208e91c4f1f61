# Partial fine-tuning, strategy norms_and_biases (ours): the weights of every
# LayerNorm and every bias (LN tuning + BitFit), and the head.
_base_ = ['./partial_ft_vitb_vtab.py']
custom_hooks = [dict(type='PartialFineTuneHook', strategy='norms_and_biases'),
                dict(type='TrainableCheckpointHook', interval=10)]
