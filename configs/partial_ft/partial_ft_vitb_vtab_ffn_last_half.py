# Partial fine-tuning, strategy ffn_last_half (ours): the FFN units of blocks
# 6-11 and the head.
_base_ = ['./partial_ft_vitb_vtab.py']
model = dict(peft=dict(strategy='ffn_last_half'))
