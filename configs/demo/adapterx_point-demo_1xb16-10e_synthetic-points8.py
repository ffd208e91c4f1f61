# The 3D demo with Adapter-X (DAPT-X, as on Point-MAE, the position
# embedding added once): the demo point transformer pretrained on four
# shapes, adapted to all eight.
_base_ = [
    '../_base_/models/point_demo.py',
    '../_base_/datasets/synthetic_point_clouds.py',
    '../_base_/schedules/demo_digits.py',
    '../_base_/peft/point_adapterx.py',
    '../_base_/default_runtime.py',
]
model = dict(
    peft={{_base_.peft}},
    head={{_base_.point_head}},
    backbone=dict(add_positions_every_block=False))
# Adapters start from zero: on this short schedule they take a larger step
# (chosen for the demo, not a benchmark protocol).
optim_wrapper = dict(optimizer=dict(lr=5e-3))
