# The merging demo's digits task: the digits demo's full fine-tuning at a
# fifth of its learning rate, so the three fine-tuned models stay near
# their shared pretrained weights (the regime weight merging is for).
_base_ = ['../demo/digits_full_finetune.py']
optim_wrapper = dict(optimizer=dict(lr=2e-4))
