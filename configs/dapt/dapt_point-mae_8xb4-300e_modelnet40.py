# DAPT on Point-MAE for ModelNet40 (1024 points).
# DAPT's settings for this dataset: drop path 0.1, adapter dropout
# 0.0, bottleneck 72 (its released ModelNet40 config);
# the papers' schedule (AdamW 5e-4, wd 0.05, 300 epochs, batch 32, grad
# clip 10) and train-time scale-and-translate (Point-MAE / DAPT protocol).
#
#   tools/dist_train.sh configs/dapt/dapt_point-mae_8xb4-300e_modelnet40.py 8
_base_ = [
    '../_base_/protocols/point-mae_1xb32-300e_modelnet40.py',
    '../_base_/peft/dapt.py',
]
model = dict(
    peft=dict(_base_.peft, adapter_dropout=0.0, bottleneck_dims=72),
    head=_base_.point_head,
    backbone=dict(add_positions_every_block=False, drop_path_rate=0.1),
)
# The batch of 32 is the global batch: 8 GPUs x 4 per GPU.
train_dataloader = dict(batch_size=4)
