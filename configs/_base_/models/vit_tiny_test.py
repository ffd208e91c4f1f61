# A ViT small enough for unit tests and CI: 32x32 images, 8x8 patches,
# 2 blocks of width 32.
model = dict(
    type='PeftImageClassifier',
    backbone=dict(
        type='VisionTransformer',
        arch=dict(
            embed_dims=32, num_layers=2, num_heads=2,
            feedforward_channels=64),
        img_size=32,
        patch_size=8,
        drop_rate=0.0,
        drop_path_rate=0.1),
    neck=None,
    head=dict(
        type='VisionTransformerClsHead',
        num_classes=4,
        in_channels=32,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0)),
)
