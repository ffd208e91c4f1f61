# AdaptFormer on ViT-B/16 (ImageNet-21k) for FGVC: the bases of
# configs/adapterx_vitb_fgvc.py (CUB-200 by default), only the PEFT part
# differs.
_base_ = [
    '../../_base_/models/vit_base_p16.py',
    '../../_base_/datasets/fgvc.py',
    '../../_base_/schedules/adamw_cosine.py',
    '../../_base_/peft/adaptformer.py',
    '../../_base_/default_runtime.py',
]
model = dict(peft={{_base_.peft}}, head=dict(num_classes=200))
train_dataloader = dict(batch_size=8)
auto_scale_lr = dict(base_batch_size=64)
