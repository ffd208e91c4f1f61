# Point-BERT with Adapter-X (DAPT-X, configs/_base_/peft/adapterx_point.py),
# as configs/_base_/models/point_mae_adapterx.py is for Point-MAE.
_base_ = ['./point_bert.py', '../peft/adapterx_point.py']
model = dict(peft={{_base_.peft}}, head={{_base_.point_head}})
