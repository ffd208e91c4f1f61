# Partial fine-tuning, strategy first_half (ours): both units of blocks 0-5
# of 12 and the head.
_base_ = ['./partial-ft-attention-only_vit-b16_8xb8-100e_vtab1k-cifar.py']
model = dict(peft=dict(strategy='first_half'))
