# Ablation of Adapter-X on VTAB-1k (cifar; pick the task as in
# configs/adapterx_vitb_vtab.py): SMoA + prompt generator (LN2 frozen).
# The full method is configs/adapterx_vitb_vtab.py.
_base_ = [
    '../_base_/protocols/vit-b16_8xb8-100e_vtab1k.py',
    '../_base_/peft/adapterx_smoa_pg.py',
]
model = dict(peft={{_base_.peft}})
