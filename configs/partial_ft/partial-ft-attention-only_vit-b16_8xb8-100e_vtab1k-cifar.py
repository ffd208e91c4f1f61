# Partial fine-tuning (arXiv 2312.15681) of ViT-B/16 (ImageNet-21k) on
# VTAB-1k cifar, strategy attention_only (the paper's): the attention unit
# (LN1 + attention) of every block and the head train. The VTAB-1k
# protocol base and the partial fine-tuning PEFT base; the other
# strategies and the angle selections inherit this config. The settings
# and their sources: docs/methods.md, "Partial fine-tuning".
_base_ = [
    '../_base_/protocols/vit-b16_8xb8-100e_vtab1k.py',
    '../_base_/peft/partial_ft.py',
]
model = dict(peft={{_base_.peft}})
