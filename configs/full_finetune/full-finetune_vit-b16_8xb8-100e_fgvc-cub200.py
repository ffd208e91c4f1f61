# Full fine-tuning on ViT-B/16 for FGVC: configs/adapterx_vitb_fgvc.py with the
# PEFT part replaced (CUB200 here; other datasets as in
# configs/adapterx/).
# Point-MAE / Point-BERT: configs/full_finetune/.
_base_ = [
    '../_base_/protocols/vit-b16_8xb8-100e_fgvc.py',
    '../_base_/peft/full_finetune.py',
]
model = dict(peft={{_base_.peft}})
