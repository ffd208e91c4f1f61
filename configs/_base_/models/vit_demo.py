# The demo's small ViT: 32x32 images, 8x8 patches, 6 blocks of width 128
# (1.2 M parameters). Pretrained on 200 FractalDB-style fractal categories
# by tools/demo/pretrain_demo_backbone.py fractal, which wrote the weights
# the backbone loads (fp16; a path relative to this file, so the configs
# run from anywhere). The earlier shapes backbone
# (tools/demo/vit_demo_shapes.pth, configs/demo/
# vit-demo_1xb64-12e_synthetic-shapes.py) transfers far less; the README
# compares the two.
model = dict(
    type='PeftImageClassifier',
    backbone=dict(
        type='VisionTransformer',
        arch=dict(
            embed_dims=128, num_layers=6, num_heads=4,
            feedforward_channels=512),
        img_size=32,
        patch_size=8,
        drop_rate=0.0,
        drop_path_rate=0.0,
        init_cfg=dict(
            type='Pretrained',
            checkpoint='{{ fileDirname }}/../../../tools/demo/'
            'vit_demo_fractal.safetensors')),
    neck=None,
    head=dict(
        type='VisionTransformerClsHead',
        num_classes=10,
        in_channels=128,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0)),
)
