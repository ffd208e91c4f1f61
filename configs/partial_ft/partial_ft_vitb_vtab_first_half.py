# Partial fine-tuning, strategy first_half (ours): both units of blocks 0-5
# of 12 and the head.
_base_ = ['./partial_ft_vitb_vtab.py']
model = dict(peft=dict(strategy='first_half'))
