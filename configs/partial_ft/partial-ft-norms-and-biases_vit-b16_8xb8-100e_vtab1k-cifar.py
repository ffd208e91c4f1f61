# Partial fine-tuning, strategy norms_and_biases (ours): the weights of every
# LayerNorm and every bias (LN tuning + BitFit), and the head.
_base_ = ['./partial-ft-attention-only_vit-b16_8xb8-100e_vtab1k-cifar.py']
model = dict(peft=dict(strategy='norms_and_biases'))
