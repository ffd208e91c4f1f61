# AdaptFormer on Point-MAE for ModelNet40 (1024 points).
# Drop path 0.1 (Point-MAE's fine-tuning);
# the papers' schedule (AdamW 5e-4, wd 0.05, 300 epochs, batch 32, grad
# clip 10) and train-time scale-and-translate (Point-MAE / DAPT protocol).
#
#   tools/dist_train.sh configs/baselines/adaptformer/adaptformer_pointmae_modelnet40.py 8
_base_ = [
    '../../_base_/models/point_mae.py',
    '../../_base_/datasets/modelnet40.py',
    '../../_base_/schedules/point_adamw_cosine_300e.py',
    '../../_base_/peft/adaptformer.py',
    '../../_base_/default_runtime.py',
]
model = dict(
    peft={{_base_.peft}},
    backbone=dict(num_groups=64, drop_path_rate=0.1),
    head=dict(num_classes=40),
)
# The batch of 32 is the global batch: 8 GPUs x 4 per GPU.
train_dataloader = dict(batch_size=4)
