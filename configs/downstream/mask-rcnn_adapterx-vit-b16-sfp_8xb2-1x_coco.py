# Instance segmentation / detection on COCO: Mask R-CNN on an Adapter-X
# ViT-B/16, ViTDet-style: only the last block's map (stride 16) feeds a
# simple feature pyramid (deconvolutions to strides 4 and 8, identity 16,
# max pooling 32, and 64 for the RPN) instead of an FPN. The ViT is frozen;
# Adapter-X, the pyramid and the RPN / RoI heads train. mmdet's 1x schedule
# and pipeline, 8 GPUs x 2 images; AdamW and its learning rate are a
# [choice], not tuned.
# From the adapterx repository root (adapterx importable, weights under
# pretrained/), with mmdetection's tools/ (its wheel ships them as
# mmdet/.mim/tools/):
#   python $TOOLS/train.py THIS_CONFIG
#   torchrun --nproc_per_node=8 $TOOLS/train.py THIS_CONFIG --launcher pytorch
_base_ = [
    'mmdet::_base_/models/mask-rcnn_r50_fpn.py',
    'mmdet::_base_/datasets/coco_instance.py',
    'mmdet::_base_/schedules/schedule_1x.py',
    'mmdet::_base_/default_runtime.py',
    './_base_/adapterx_vit_b16_dense.py',
]
custom_imports = dict(imports=['adapterx'], allow_failed_imports=False)

model = dict(
    data_preprocessor=dict(
        mean={{_base_.vit_b16_mean}}, std={{_base_.vit_b16_std}}),
    backbone=dict(
        _delete_=True,
        type='adapterx.PeftViTDense',
        vit={{_base_.vit_b16}},
        out_indices=(11, ),
        peft={{_base_.peft}}),
    neck=dict(
        _delete_=True,
        type='adapterx.SimpleFeaturePyramid',
        in_channels=768,
        out_channels=256,
        scale_factors=(4, 2, 1, 0.5),
        num_outs=5))

optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-4, weight_decay=0.05))
