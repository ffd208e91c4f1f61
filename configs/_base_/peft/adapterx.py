# PEFT base configs define `peft` (the method PeftImageClassifier applies;
# the method declares what trains, and the model freezes itself when it is
# built) and inherit the hooks of ./trainable_hooks.py; a config that
# inherits one also inherits a model base and sets
# `model = dict(peft={{_base_.peft}})` (mmengine forbids the same key in two
# sibling bases).
#
# Adapter-X (arXiv 2406.03051) with the paper's settings:
# one shared pool of 4 bottleneck experts (r=8) parallel to every MLP, a
# per-block top-1 cosine router (routing dim 8, no multi-head split), a
# prompt generator in every block but the last, fixed scale 0.1 [choice].
_base_ = ['./trainable_hooks.py']
peft = dict(
    type='AdapterX',
    num_experts=4,
    bottleneck_dims=8,
    routing_dims=8,
    num_heads=1,
    top_k=1,
    soft_routing=False,
    scale=0.1,
    placement='mlp',
    sharing_groups='all',
    prompt_generator=dict(type='PromptGenerator'),
    balance_loss_weight=0.01,
)

# Trainable (AdapterX declares it): the shared experts and expert
# embeddings, the per-block routers and prompt generators, each block's LN2
# (block-specific, starts from the pretrained LN2), the class token and the
# head. Everything else (patch embedding, LN1, attention, MLP, final norm)
# stays frozen.
