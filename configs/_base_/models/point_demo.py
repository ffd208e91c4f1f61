# The 3D demo's small point transformer: 512-point clouds in 32 groups of
# 16 points, 4 blocks of width 96, a one-hidden-layer head. Pretrained on
# four of the eight synthetic shapes by configs/demo/point-demo_1xb32-10e_synthetic-points4.py
# through tools/demo/pretrain_demo_backbone.py points, which wrote the
# weights the backbone loads.
model = dict(
    type='PointClassifier',
    backbone=dict(
        type='PointTransformer',
        arch=dict(embed_dims=96, depth=4, num_heads=4, group_embed_dims=96),
        num_groups=32,
        group_size=16,
        drop_path_rate=0.0,
        init_cfg=dict(
            type='Pretrained',
            checkpoint='{{ fileDirname }}/../../../tools/demo/'
            'point_demo_shapes.pth')),
    head=dict(
        type='PointClsHead',
        num_classes=8,
        in_channels=96,
        pooling=('cls', 'max'),
        hidden_channels=(128, ),
        batch_norm=True,
        dropout=0.3,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0)),
)
