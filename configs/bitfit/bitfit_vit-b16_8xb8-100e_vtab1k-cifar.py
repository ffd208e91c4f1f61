# BitFit on ViT-B/16 for VTAB-1k: configs/adapterx_vitb_vtab.py with
# the PEFT part replaced (cifar here). All 19 tasks:
#   python tools/run_vtab.py configs/bitfit/bitfit_vit-b16_8xb8-100e_vtab1k-cifar.py --gpus 8
_base_ = [
    '../_base_/protocols/vit-b16_8xb8-100e_vtab1k.py',
    '../_base_/peft/bitfit.py',
]
model = dict(peft={{_base_.peft}})
