# Partial fine-tuning, strategy last_half (ours): both units of blocks 6-11
# of 12 and the head.
_base_ = ['./partial_ft_vitb_vtab.py']
model = dict(peft=dict(strategy='last_half'))
