# Point-MAE with DAPT (configs/_base_/peft/dapt.py) and its head pooling;
# DAPT's code adds the position embedding once, before the first block.
_base_ = ['./point_mae.py', '../peft/dapt.py']
model = dict(
    peft={{_base_.peft}},
    head={{_base_.point_head}},
    backbone=dict(add_positions_every_block=False))
