# IDPT on Point-MAE for ScanObjectNN OBJ_ONLY.
# Drop path 0.1 (Point-MAE's fine-tuning);
# the papers' schedule (AdamW 5e-4, wd 0.05, 300 epochs, batch 32, grad
# clip 10) and train-time scale-and-translate (Point-MAE / DAPT protocol).
#
#   tools/dist_train.sh configs/baselines/idpt/idpt_pointmae_scanobjectnn_obj_only.py 8
_base_ = [
    '../../_base_/models/point_mae_idpt.py',
    '../../_base_/datasets/scanobjectnn_obj_only.py',
    '../../_base_/schedules/point_adamw_cosine_300e.py',
    '../../_base_/default_runtime.py',
]
model = dict(
    backbone=dict(num_groups=128, drop_path_rate=0.1),
    head=dict(num_classes=15),
)
# The batch of 32 is the global batch: 8 GPUs x 4 per GPU.
train_dataloader = dict(batch_size=4)
