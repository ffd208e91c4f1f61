# ViT-B/16 as mmpretrain defines it (its settings equal timm's
# vit_base_patch16_224), set up the way the PEFT literature fine-tunes
# Google's ImageNet-21k weights: drop path 0.1, no dropout, a linear head on
# the class token, the backbone loaded from the converted ViT-B_16.npz:
#   python tools/model_converters/vit_timm_to_mmpretrain.py \
#       ViT-B_16.npz pretrained/vit-b16_in21k.safetensors
_base_ = 'mmpretrain::_base_/models/vit-base-p16.py'

# Inheriting from mmpretrain's config marks the dict with mmpretrain's scope;
# adapterx's scope finds PeftImageClassifier and, through its parent,
# everything of mmpretrain's.
model = dict(
    _scope_='adapterx',
    type='PeftImageClassifier',
    backbone=dict(
        drop_rate=0.0,
        drop_path_rate=0.1,
        init_cfg=dict(
            _delete_=True,
            type='Pretrained',
            checkpoint='pretrained/vit-b16_in21k.safetensors',
            prefix='backbone.')),
    head=dict(
        num_classes=1000,
        loss=dict(_delete_=True, type='CrossEntropyLoss', loss_weight=1.0)),
)
