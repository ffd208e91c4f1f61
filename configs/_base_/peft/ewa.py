# EWA (arXiv 2308.06093): the random-partition MoE of
# ./moe_random_partition.py with Experts Weights Averaging after every
# optimizer step taken, W_i <- (1 - b) W_i + b * mean_j W_j, share rate
# b = 0.3 [choice: the paper's value is not known]. At the end of training
# the experts are averaged into one FFN (work_dir/dense_final.safetensors).
_base_ = ['./moe_random_partition.py']
custom_hooks = [
    dict(type='ParameterFreezeHook', verify_frozen=False),
    dict(type='EWAHook', share_rate=0.3, interval=1),
    dict(type='DenseConversionHook', filename='dense_final.safetensors'),
]
