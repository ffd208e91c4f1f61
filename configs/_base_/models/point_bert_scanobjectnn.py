# Point-BERT (./point_bert.py) as every ScanObjectNN protocol fine-tunes it:
# 128 groups of 32 points, drop path 0.1 (the backbone's own fine-tuning),
# 15 classes, label smoothing 0.2 spread over the 14 wrong classes.
_base_ = ['./point_bert.py']
model = dict(
    backbone=dict(num_groups=128, drop_path_rate=0.1),
    head=dict(
        num_classes=15,
        loss=dict(label_smooth_val=0.2 * 15 / 14)),
)
