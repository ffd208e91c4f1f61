# Partial fine-tuning, strategy ffn_only (paper): the FFN unit (LN2 + MLP) of
# every block and the head.
_base_ = ['./partial_ft_vitb_vtab.py']
model = dict(peft=dict(strategy='ffn_only'))
