# Adapter-X (DAPT-X) on Point-BERT for ScanObjectNN PB_T50_RS (the hardest variant), with
# DAPT's settings for this dataset: drop path 0.3, adapter dropout 0.2;
# the papers' schedule (AdamW 5e-4, wd 0.05, 300 epochs, batch 32, grad clip 10)
# and train-time scale-and-translate (the Point-MAE / DAPT protocol).
#
#   tools/dist_train.sh configs/adapterx/adapterx_point-bert_8xb4-300e_scanobjectnn-pb-t50-rs.py 8
#   .venv/bin/python tools/test.py configs/adapterx/adapterx_point-bert_8xb4-300e_scanobjectnn-pb-t50-rs.py CKPT --tta   # 10-view voting
_base_ = [
    '../_base_/protocols/point-bert_1xb32-300e_scanobjectnn-pb-t50-rs.py',
    '../_base_/peft/point_adapterx.py',
]
model = dict(
    peft=dict(_base_.peft, expert_dropout=0.2),
    head=_base_.point_head,
    backbone=dict(add_positions_every_block=False, drop_path_rate=0.3),
)
# The batch of 32 is the global batch: 8 GPUs x 4 per GPU.
train_dataloader = dict(batch_size=4)
