# Partial fine-tuning, strategy attention_last_half (ours): the attention
# units of blocks 6-11 and the head.
_base_ = ['./partial-ft-attention-only_vit-b16_8xb8-100e_vtab1k-cifar.py']
model = dict(peft=dict(strategy='attention_last_half'))
