_base_ = 'mmpretrain::_base_/default_runtime.py'

# adapterx first, then mmpretrain and mmengine (adapterx's registries are
# children of mmpretrain's).
default_scope = 'adapterx'
runner_type = 'PeftRunner'

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2),
)

# PeftRunner switches the backend to gloo when no GPU is present.
env_cfg = dict(dist_cfg=dict(backend='nccl', timeout=1800))

randomness = dict(seed=0, deterministic=False)
