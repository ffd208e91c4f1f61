# Point-MAE with IDPT (configs/_base_/peft/idpt.py) and its head pooling.
_base_ = ['./point_mae.py', '../peft/idpt.py']
model = dict(peft={{_base_.peft}}, head={{_base_.point_head}})
