# Partial fine-tuning, strategy ffn_only (paper): the FFN unit (LN2 + MLP) of
# every block and the head.
_base_ = ['./partial-ft-attention-only_vit-b16_8xb8-100e_vtab1k-cifar.py']
model = dict(peft=dict(strategy='ffn_only'))
