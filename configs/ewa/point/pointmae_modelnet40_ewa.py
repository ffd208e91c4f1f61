# Fine-tuning Point-MAE on ModelNet40 (1024 points) with EWA, as
# ./pointmae_scanobjectnn_pb_t50_rs_ewa.py does for ScanObjectNN; test
# dense_final.safetensors with
# configs/full_finetune/point/fullft_pointmae_modelnet40.py.
_base_ = [
    '../../_base_/models/point_mae.py',
    '../../_base_/datasets/modelnet40.py',
    '../../_base_/schedules/point_adamw_cosine_300e.py',
    '../../_base_/peft/ewa.py',
    '../../_base_/default_runtime.py',
]
model = dict(
    peft={{_base_.peft}},
    backbone=dict(num_groups=64, drop_path_rate=0.1),
    head=dict(num_classes=40),
)
train_dataloader = dict(batch_size=4)
