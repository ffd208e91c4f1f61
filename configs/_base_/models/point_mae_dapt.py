# Point-MAE with DAPT (configs/_base_/peft/dapt.py) and its head pooling.
_base_ = ['./point_mae.py', '../peft/dapt.py']
model = dict(peft={{_base_.peft}}, head={{_base_.point_head}})
