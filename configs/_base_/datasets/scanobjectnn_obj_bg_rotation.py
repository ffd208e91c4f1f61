# ScanObjectNN OBJ_BG with the rotation protocol of ReCon, IDPT, DAPT and
# Point-PEFT: training clouds rotated about the up axis by a random angle
# (no scale or translation); the rest as in scanobjectnn_obj_bg.py.
_base_ = ['./scanobjectnn_obj_bg.py']
train_dataloader = dict(
    dataset=dict(pipeline={{_base_.rotation_train_pipeline}}))
