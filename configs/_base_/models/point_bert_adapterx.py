# Point-BERT with Adapter-X (DAPT-X, configs/_base_/peft/point_adapterx.py),
# as configs/_base_/models/point_mae_adapterx.py is for Point-MAE (the
# position embedding added once, before the first block).
_base_ = ['./point_bert.py', '../peft/point_adapterx.py']
model = dict(
    peft={{_base_.peft}},
    head={{_base_.point_head}},
    backbone=dict(add_positions_every_block=False))
