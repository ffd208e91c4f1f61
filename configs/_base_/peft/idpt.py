# IDPT (arXiv 2304.07221), as its code configures Point-MAE: before the last
# block an EdgeConv module (3 layers, k=20) turns the block's group tokens
# into one prompt token per cloud; the head pools concat(class token,
# prompt, max over groups).
_base_ = ['./trainable_hooks.py']
peft = dict(type='IDPT', prompt_block=-1, generator=dict(k=20, num_layers=3))
# Merged into the model's head by IDPT's configs.
point_head = dict(pooling=('cls', 'prompt_mean', 'max'))
# Trainable as in IDPT's code (every parameter named 'cls'): the prompt
# module, the class token and its position, the head.
