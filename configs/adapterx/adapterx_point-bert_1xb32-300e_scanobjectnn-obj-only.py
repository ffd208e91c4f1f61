# Adapter-X in 3D (DAPT-X) on Point-BERT, ScanObjectNN OBJ_ONLY, Point-MAE's
# scale-and-translate protocol, batch 32 on one GPU: the protocol base and
# the method's PEFT base. DAPT's settings for this dataset, as DAPT's config
# of it: drop path 0.1, adapter dropout 0.0; the position embedding added
# once and DAPT's head pooling. Settings and sources: docs/methods.md,
# "Adapter-X in 3D" and "Point clouds".
_base_ = [
    '../_base_/protocols/point-bert_1xb32-300e_scanobjectnn-obj-only.py',
    '../_base_/peft/point_adapterx.py',
]
model = dict(
    peft=dict(_base_.peft, expert_dropout=0.0),
    head=_base_.point_head,
    backbone=dict(add_positions_every_block=False, drop_path_rate=0.1),
)
