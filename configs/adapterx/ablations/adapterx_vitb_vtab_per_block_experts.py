# Ablation of Adapter-X on VTAB-1k (cifar; pick the task as in
# configs/adapterx_vitb_vtab.py): no inter-block sharing (a pool per block).
# The full method is configs/adapterx_vitb_vtab.py.
_base_ = [
    '../../_base_/models/vit_base_p16.py',
    '../../_base_/datasets/vtab1k.py',
    '../../_base_/schedules/adamw_cosine.py',
    '../../_base_/peft/adapterx_per_block_experts.py',
    '../../_base_/default_runtime.py',
]
model = dict(peft={{_base_.peft}}, head=dict(num_classes=100))
train_dataloader = dict(batch_size=8)
auto_scale_lr = dict(base_batch_size=64)
