# Fine-tuned-angle partial fine-tuning (paper), the other end: the k=4
# units of each group with the smallest angles (the end that suits easy
# tasks) train, with the head; see partial_ft_vitb_vtab_angle_largest.py.
_base_ = ['./partial_ft_vitb_vtab_angle_largest.py']
model = dict(peft=dict(angle_selection=dict(end='smallest')))
