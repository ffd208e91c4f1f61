# DAPT on Point-MAE, ScanObjectNN OBJ_BG, Point-MAE's scale-and-translate
# protocol, batch 32 on one GPU: the protocol base and the method's PEFT
# base. DAPT's settings for this dataset: drop path 0.3, adapter dropout
# 0.5; the position embedding added once and DAPT's head pooling. Settings
# and sources: docs/methods.md, "DAPT" and "Point clouds".
_base_ = [
    '../_base_/protocols/point-mae_1xb32-300e_scanobjectnn-obj-bg.py',
    '../_base_/peft/dapt.py',
]
model = dict(
    peft=dict(_base_.peft, adapter_dropout=0.5),
    head=_base_.point_head,
    backbone=dict(add_positions_every_block=False, drop_path_rate=0.3),
)
