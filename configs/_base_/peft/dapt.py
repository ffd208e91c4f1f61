# DAPT (arXiv 2403.01439), as its code configures Point-MAE: in every block
# a dynamic adapter (own LayerNorm, r=64, GELU, per-token scale
# ReLU(Linear(d, 1))) parallel to the MLP, an internal prompt from its
# output, and scale-and-shift vectors after LN1, qkv, proj, LN2, fc1, fc2;
# scale-and-shift after the group encoder and the final norm. The adapter
# dropout is set per dataset by the top-level configs.
_base_ = ['./trainable_hooks.py']
peft = dict(
    type='DAPT',
    bottleneck_dims=64,
    adapter_dropout=0.0,
    backbone_scale_shifts=('group_encoder', 'norm'))
# DAPT's head on concat(class token, mean of the prompts, max over groups).
point_head = dict(pooling=('cls', 'prompt_mean', 'max'))
# Trainable as in DAPT's code (names with 'cls', 'tfts' or 'Adapter'): the
# block parts, the backbone-level scale-and-shifts, the class token and
# its position, the head. LN2 stays frozen (the adapter has its own norm).
