# FacT-TT on ViT-B/16 for FGVC: configs/adapterx_vitb_fgvc.py with the
# PEFT part replaced (CUB200 here; other datasets as in
# configs/adapterx/fgvc/).
_base_ = [
    '../../_base_/models/vit_base_p16.py',
    '../../_base_/datasets/fgvc.py',
    '../../_base_/schedules/adamw_cosine.py',
    '../../_base_/peft/fact_tt.py',
    '../../_base_/default_runtime.py',
]
model = dict(peft={{_base_.peft}}, head=dict(num_classes=200))
train_dataloader = dict(batch_size=8)
auto_scale_lr = dict(base_batch_size=64)
