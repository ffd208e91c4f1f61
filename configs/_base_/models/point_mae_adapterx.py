# Point-MAE with Adapter-X (DAPT-X, configs/_base_/peft/point_adapterx.py):
# the model and the method in one base, so that task configs override
# either (drop path, adapter dropout, classes) by plain dict merging. As
# DAPT (point_mae_dapt.py), the position embedding is added once, before
# the first block.
_base_ = ['./point_mae.py', '../peft/point_adapterx.py']
model = dict(
    peft={{_base_.peft}},
    head={{_base_.point_head}},
    backbone=dict(add_positions_every_block=False))
