# DeiT-S / ViT-S (mmpretrain arch 'deit-small': 12 blocks of width 384, 6
# heads, FFN 1536) for 32x32 images trained from scratch: 4x4 patches (64
# tokens) [choice], drop path 0.1, label smoothing 0.1, 100 classes.
model = dict(
    type='PeftImageClassifier',
    backbone=dict(
        type='VisionTransformer',
        arch='deit-small',
        img_size=32,
        patch_size=4,
        drop_rate=0.0,
        drop_path_rate=0.1),
    neck=None,
    head=dict(
        type='VisionTransformerClsHead',
        num_classes=100,
        in_channels=384,
        loss=dict(
            type='LabelSmoothLoss', label_smooth_val=0.1, mode='original')),
)
