# The merging demo's digits task: the digits demo's full fine-tuning at a
# fifth of its learning rate, so the three fine-tuned models stay near
# their shared pretrained weights (the regime weight merging is for).
_base_ = ['../demo/full-finetune_vit-demo_1xb32-10e_digits.py']
optim_wrapper = dict(optimizer=dict(lr=2e-4))
