# Partial fine-tuning, strategy norms_and_biases (ours): the weights of every
# LayerNorm and every bias (LN tuning + BitFit), and the head.
_base_ = ['./partial_ft_vitb_vtab.py']
model = dict(peft=dict(strategy='norms_and_biases'))
