# Semantic segmentation on ADE20K (150 classes, 512x512 crops): UPerNet on
# an Adapter-X ViT-B/16 whose four maps (blocks 4, 6, 8, 12) a simple
# feature pyramid rescales to strides 4, 8, 16 and 32. The ViT is frozen;
# Adapter-X, the pyramid and the heads train. 8 GPUs x 2 images, 160k
# iterations (mmseg's ViT-UPerNet recipe; the learning rate is a [choice],
# not tuned).
# From the adapterx repository root (adapterx importable, weights under
# pretrained/), with mmsegmentation's tools/ (its wheel ships them as
# mmseg/.mim/tools/):
#   python $TOOLS/train.py THIS_CONFIG
#   torchrun --nproc_per_node=8 $TOOLS/train.py THIS_CONFIG --launcher pytorch
_base_ = [
    'mmseg::_base_/models/upernet_vit-b16_ln_mln.py',
    'mmseg::_base_/datasets/ade20k.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_160k.py',
    './_base_/adapterx_vit_b16_dense.py',
]
custom_imports = dict(imports=['adapterx'], allow_failed_imports=False)

crop_size = (512, 512)
data_preprocessor = dict(
    size=crop_size, mean={{_base_.vit_b16_mean}}, std={{_base_.vit_b16_std}})
model = dict(
    data_preprocessor=data_preprocessor,
    # The ViT's own init_cfg loads the pretrained weights.
    pretrained=None,
    backbone=dict(
        _delete_=True,
        type='adapterx.PeftViTDense',
        vit={{_base_.vit_b16}},
        out_indices=(3, 5, 7, 11),
        peft={{_base_.peft}}),
    neck=dict(
        _delete_=True,
        type='adapterx.SimpleFeaturePyramid',
        in_channels=768,
        out_channels=768,
        scale_factors=(4, 2, 1, 0.5)),
    decode_head=dict(num_classes=150),
    auxiliary_head=dict(num_classes=150),
    test_cfg=dict(mode='slide', crop_size=crop_size, stride=(341, 341)))

optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.01))
param_scheduler = [
    dict(
        type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0,
        end=1500),
    dict(
        type='PolyLR',
        eta_min=0.0,
        power=1.0,
        begin=1500,
        end=160000,
        by_epoch=False),
]
train_dataloader = dict(batch_size=2)
val_dataloader = dict(batch_size=1)
test_dataloader = val_dataloader
