# Point-MAE with Adapter-X (DAPT-X, configs/_base_/peft/point_adapterx.py):
# the model and the method in one base, so that task configs override
# either (drop path, adapter dropout, classes) by plain dict merging.
_base_ = ['./point_mae.py', '../peft/point_adapterx.py']
model = dict(peft={{_base_.peft}}, head={{_base_.point_head}})
