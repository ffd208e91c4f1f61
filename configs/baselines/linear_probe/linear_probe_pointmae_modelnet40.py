# Linear probing on Point-MAE for ModelNet40 (1024 points): the setup of
# configs/full_finetune/point/fullft_pointmae_modelnet40.py (drop path 0.1,
# the papers' 300-epoch schedule, global batch 32 = 8 GPUs x 4) with
# the PEFT part replaced.
_base_ = [
    '../../_base_/models/point_mae.py',
    '../../_base_/datasets/modelnet40.py',
    '../../_base_/schedules/point_adamw_cosine_300e.py',
    '../../_base_/peft/linear_probe.py',
    '../../_base_/default_runtime.py',
]
model = dict(
    backbone=dict(num_groups=64, drop_path_rate=0.1),
    head=dict(num_classes=40),
    peft={{_base_.peft}},
)
train_dataloader = dict(batch_size=4)
