# Convpass on ViT-B/16 (ImageNet-21k) for VTAB-1k: the bases of
# configs/adapterx_vitb_vtab.py (protocol, schedule, cifar by default), only
# the PEFT part differs. Other tasks: tools/run_vtab.py, or the
# --cfg-options of configs/adapterx_vitb_vtab.py.
_base_ = [
    '../_base_/protocols/vit-b16_8xb8-100e_vtab1k.py',
    '../_base_/peft/convpass.py',
]
model = dict(peft={{_base_.peft}})
