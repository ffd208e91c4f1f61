# Partial fine-tuning, strategy attention_only (paper): the attention unit
# (LN1 + attention) of every block and the head.
_base_ = ['./partial_ft_vitb_vtab.py']
model = dict(peft=dict(strategy='attention_only'))
