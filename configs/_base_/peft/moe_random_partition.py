# A random-partition MoE trained without EWA, its experts averaged only at
# the end (a baseline of the EWA paper, arXiv 2308.06093). PEFT base: use
# with `model = dict(peft={{_base_.peft}})`.
#
# [choice]: the FFN of every other block (1, 3, 5,
# ...) becomes 4 experts, each a copy of the dense FFN at the start; the
# tokens of a batch are split among them by a uniformly random partition
# (no router, no balance loss). Evaluation runs the averaged experts, and
# at the end of training the dense model (each MoE averaged into one FFN)
# is saved to work_dir/dense_final.safetensors, to test with the dense config.
peft = dict(
    type='MoEViT',
    moe=dict(
        type='RandomPartitionMoE',
        num_experts=4,
        init='copy',
        eval_mode='averaged'),
    moe_blocks='every_other',
)
custom_hooks = [
    dict(type='ParameterFreezeHook', verify_frozen=False),
    dict(type='DenseConversionHook', filename='dense_final.safetensors'),
]
