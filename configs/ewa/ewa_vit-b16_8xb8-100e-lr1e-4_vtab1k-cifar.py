# EWA fine-tuning ViT-B/16 (ImageNet-21k) on VTAB-1k cifar: the full
# fine-tuning config at lr 1e-4 with every other block's pretrained FFN as 4
# copies, trained as a random-partition MoE with Experts Weights Averaging
# and averaged back into one FFN at the end (work_dir/
# dense_final.safetensors, tested with that full fine-tuning config).
# Settings and sources: docs/methods.md, "EWA".
_base_ = [
    '../full_finetune/full-finetune_vit-b16_8xb8-100e-lr1e-4_vtab1k-cifar.py',
    '../_base_/peft/ewa.py',
]
model = dict(peft={{_base_.peft}})
