# SSF (arXiv 2210.08823): a per-channel scale and shift after every linear
# layer, LayerNorm and the patch embedding, initialised N(1, 0.02) and
# N(0, 0.02) as the paper's code. Merges into the weights where each such
# layer has a bias (ViT-B/16: everywhere; the point transformer's qkv has
# none, so SSF on Point-MAE trains but does not merge).
_base_ = ['./trainable_hooks.py']
peft = dict(type='SSF', init_std=0.02)
