# DAPT on Point-MAE for ScanObjectNN OBJ_BG.
# DAPT's settings for this dataset: drop path 0.3, adapter dropout
# 0.5;
# the papers' schedule (AdamW 5e-4, wd 0.05, 300 epochs, batch 32, grad
# clip 10) and train-time scale-and-translate (Point-MAE / DAPT protocol).
#
#   tools/dist_train.sh configs/dapt/dapt_point-mae_8xb4-300e_scanobjectnn-obj-bg.py 8
_base_ = [
    '../_base_/protocols/point-mae_1xb32-300e_scanobjectnn-obj-bg.py',
    '../_base_/peft/dapt.py',
]
model = dict(
    peft=dict(_base_.peft, adapter_dropout=0.5),
    head=_base_.point_head,
    backbone=dict(add_positions_every_block=False, drop_path_rate=0.3),
)
# The batch of 32 is the global batch: 8 GPUs x 4 per GPU.
train_dataloader = dict(batch_size=4)
