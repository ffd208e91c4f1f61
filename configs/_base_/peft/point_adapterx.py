# Adapter-X in 3D ("Point-MAE + DAPT-X" of the paper's teaser): DAPT's
# per-block adapters replaced by one shared SMoA pool, with DAPT's dynamic
# per-token scale ReLU(Linear(d, 1)), a prompt generator in every block but
# the last, and DAPT's head on concat(class token, mean of the prompt tokens,
# max over the group tokens).
#
# Widths [choice]: 4 experts of bottleneck 4, routing dim 4, so that the
# trainable share with the 15-class head comes to the paper's ~1.9% of
# Point-MAE (the 3D convention counts the head; the hook logs both). The
# adapter dropout of DAPT is set per dataset by the top-level configs.
_base_ = ['./trainable_hooks.py']
peft = dict(
    type='AdapterX',
    num_experts=4,
    bottleneck_dims=4,
    routing_dims=4,
    num_heads=1,
    top_k=1,
    soft_routing=False,
    scale=dict(type='DynamicTokenScale'),
    expert_dropout=0.0,
    placement='mlp',
    sharing_groups='all',
    prompt_generator=dict(type='PromptGenerator'),
    balance_loss_weight=0.01,
)
# Merged into the model's head by the top-level configs.
point_head = dict(pooling=('cls', 'prompt_mean', 'max'))

# Trainable: the shared experts, per-block routers, scales and prompt
# generators, each block's LN2, the class token and its position, the head.
