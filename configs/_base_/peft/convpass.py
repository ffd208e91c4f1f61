# Convpass (arXiv 2207.07039): convolutional bypasses (1x1 down to 8,
# QuickGELU, 3x3 conv on the patch grid, QuickGELU, dropout 0.1, 1x1 up)
# parallel to attention and MLP, scaled by s. Convpass picks s per VTAB
# task from {0.01, 0.1, 1, 10} and the conv init (Xavier or identity);
# s=0.01 with Xavier here [choice], overridden per task.
_base_ = ['./trainable_hooks.py']
peft = dict(
    type='Convpass',
    bottleneck_dims=8,
    scale=0.01,
    dropout=0.1,
    xavier_init=True,
    placement='both')
# Trainable: the bypasses and the head.
