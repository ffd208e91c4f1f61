# Point-MAE's fine-tuning model: its transformer encoder (width 384, depth
# 12, 6 heads, group embedding 384) and its head on concat(class token, max
# over group tokens): Linear-BN-ReLU-Dropout(0.5) x 2, then Linear.
# 128 groups of 32 points for 2048-point clouds (ScanObjectNN); the
# ModelNet40 configs set 64 groups for 1024 points.
# Weights: convert Point-MAE's pretrain.pth first:
#   python tools/model_converters/point_transformer_to_adapterx.py \
#       pretrain.pth pretrained/point_mae_pretrain.safetensors
model = dict(
    type='PointClassifier',
    backbone=dict(
        type='PointTransformer',
        arch='point-mae',
        num_groups=128,
        group_size=32,
        drop_path_rate=0.1,
        init_cfg=dict(
            type='Pretrained',
            checkpoint='pretrained/point_mae_pretrain.safetensors',
            prefix='backbone.')),
    head=dict(
        type='PointClsHead',
        num_classes=15,
        in_channels=384,
        pooling=('cls', 'max'),
        hidden_channels=(256, 256),
        batch_norm=True,
        dropout=0.5,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0)),
)
