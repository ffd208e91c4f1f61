# Partial fine-tuning, strategy head_only (ours): the head alone on the
# frozen backbone (a linear probe).
_base_ = ['./partial-ft-attention-only_vit-b16_8xb8-100e_vtab1k-cifar.py']
model = dict(peft=dict(strategy='head_only'))
