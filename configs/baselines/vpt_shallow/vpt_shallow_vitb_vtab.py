# VPT-shallow on ViT-B/16 (ImageNet-21k) for VTAB-1k: the bases of
# configs/adapterx_vitb_vtab.py (protocol, schedule, cifar by default), only
# the PEFT part differs. Other tasks: tools/run_vtab.py, or the
# --cfg-options of configs/adapterx_vitb_vtab.py.
_base_ = [
    '../../_base_/models/vit_base_p16.py',
    '../../_base_/datasets/vtab1k.py',
    '../../_base_/schedules/adamw_cosine.py',
    '../../_base_/peft/vpt_shallow.py',
    '../../_base_/default_runtime.py',
]
model = dict(peft={{_base_.peft}}, head=dict(num_classes=100))
train_dataloader = dict(batch_size=8)
auto_scale_lr = dict(base_batch_size=64)
