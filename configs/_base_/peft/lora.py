# LoRA (arXiv 2106.09685) as the ViT PEFT literature runs it (NOAH's
# baseline, 0.29 M on ViT-B/16): rank 8 updates of W_q and W_v of every
# block (inside the fused qkv projection), B zero-initialised; scale
# alpha / r = 1 and no dropout [choice]. Merges into the weights
# (tools/deployment/merge_adapters.py).
_base_ = ['./trainable_hooks.py']
peft = dict(
    type='LoRA',
    target_modules=[r'attn\.qkv$'],
    rank=8,
    alpha=8,
    dropout=0.0,
    qkv_parts=('q', 'v'),
)
