# Ablation of Adapter-X on VTAB-1k (cifar; pick the task as in
# configs/adapterx_vitb_vtab.py): no inter-block sharing (a pool per block).
# The full method is configs/adapterx_vitb_vtab.py.
_base_ = [
    '../_base_/protocols/vit-b16_8xb8-100e_vtab1k.py',
    '../_base_/peft/adapterx_per_block_experts.py',
]
model = dict(peft={{_base_.peft}})
