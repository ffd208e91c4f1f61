# Partial fine-tuning, strategy attention_last_half (ours): the attention
# units of blocks 6-11 and the head.
_base_ = ['./partial_ft_vitb_vtab.py']
model = dict(peft=dict(strategy='attention_last_half'))
