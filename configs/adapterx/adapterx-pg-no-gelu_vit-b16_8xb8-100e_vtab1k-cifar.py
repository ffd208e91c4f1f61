# Adapter-X on ViT-B/16, VTAB-1k cifar, with the Prompt Generator as the
# paper's figure draws it (no GELU before the mean; the default follows
# DAPT's code). Settings and sources: docs/methods.md, "Adapter-X".
_base_ = [
    '../_base_/protocols/vit-b16_8xb8-100e_vtab1k.py',
    '../_base_/peft/adapterx_pg_no_gelu.py',
]
model = dict(peft={{_base_.peft}})
