# Point-MAE (./point_mae.py) as every ScanObjectNN protocol fine-tunes it:
# 128 groups of 32 points, drop path 0.1 (the backbone's own fine-tuning),
# 15 classes.
_base_ = ['./point_mae.py']
model = dict(
    backbone=dict(num_groups=128, drop_path_rate=0.1),
    head=dict(num_classes=15),
)
