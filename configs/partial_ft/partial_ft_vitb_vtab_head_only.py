# Partial fine-tuning, strategy head_only (ours): the head alone on the
# frozen backbone (a linear probe).
_base_ = ['./partial_ft_vitb_vtab.py']
model = dict(peft=dict(strategy='head_only'))
