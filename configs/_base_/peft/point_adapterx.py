# Adapter-X in 3D ("Point-MAE + DAPT-X" of the paper's teaser): DAPT
# (configs/_base_/peft/dapt.py) with each block's dynamic adapter replaced
# by an SMoA over one shared pool of GELU experts, with DAPT's per-token
# scale ReLU(Linear(d, 1)). The rest is DAPT's, each part a switch of
# AdapterX set to DAPT's choice here: the SMoA reads LN2's output through a
# LayerNorm of its own, its output is inside the block's drop path, every
# block's prompt (the last one's too) reaches the head, DAPT's
# scale-and-shifts, LN2 frozen; the position embedding added once is the
# backbone's switch, set by the model bases. The head pools concat(class
# token, mean of the prompt tokens, max over the group tokens), as DAPT's.
#
# Widths [choice]: 4 experts of bottleneck 4, routing dim 4 (the paper's
# ~1.9% of Point-MAE with the head before DAPT's scale-and-shifts, about
# 0.1M more, were counted in). The adapter dropout of DAPT is set per
# dataset by the top-level configs.
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
    expert_act_cfg=dict(type='GELU'),
    expert_dropout=0.0,
    placement='mlp',
    sharing_groups='all',
    prompt_generator=dict(type='PromptGenerator'),
    prompt_blocks='all',
    balance_loss_weight=0.01,
    smoa_norms=True,
    smoa_in_drop_path=True,
    scale_shifts=('group_encoder', 'norm'),
    retrain_ln2=False,
)
# Merged into the model's head by the top-level configs.
point_head = dict(pooling=('cls', 'prompt_mean', 'max'))

# Trainable: the shared experts, per-block SMoA norms, routers, scales and
# prompt generators, the scale-and-shifts, the class token and its
# position, the head.
