# Fine-tuned-angle partial fine-tuning (paper), the other end: the k=4
# units of each group with the smallest angles (the end that suits easy
# tasks) train, with the head; see partial_ft_vitb_vtab_angle_largest.py.
_base_ = ['./partial_ft_vitb_vtab_angle_largest.py']
custom_hooks = [
    dict(type='PartialFineTuneHook', angle_selection=dict(
        pretrained={{_base_.angle_pretrained}},
        finetuned={{_base_.angle_reference}},
        k=4, end='smallest')),
    dict(type='TrainableCheckpointHook', interval=10)]
