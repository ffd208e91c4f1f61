# Partial fine-tuning, strategy ffn_last_half (ours): the FFN units of blocks
# 6-11 and the head.
_base_ = ['./partial-ft-attention-only_vit-b16_8xb8-100e_vtab1k-cifar.py']
model = dict(peft=dict(strategy='ffn_last_half'))
