_base_ = 'mmpretrain::_base_/default_runtime.py'

# adapterx first, then mmpretrain and mmengine (adapterx's registries are
# children of mmpretrain's).
default_scope = 'adapterx'
# What mmpretrain's and mim's own tools need to run these configs
# (`mim train adapterx CONFIG`, mmpretrain's tools/train.py): adapterx
# imported when the config is read, and its runner named with its scope,
# since those tools build the runner from mmengine's root registry.
custom_imports = dict(imports=['adapterx'], allow_failed_imports=False)
runner_type = 'adapterx.PeftRunner'

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2),
)

# PeftRunner switches the backend to gloo when no GPU is present.
env_cfg = dict(dist_cfg=dict(backend='nccl', timeout=1800))

randomness = dict(seed=0, deterministic=False)
