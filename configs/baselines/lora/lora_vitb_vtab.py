# LoRA on ViT-B/16 for VTAB-1k: configs/adapterx_vitb_vtab.py with
# the PEFT part replaced (cifar here). All 19 tasks:
#   python tools/run_vtab.py configs/baselines/lora/lora_vitb_vtab.py --gpus 8
_base_ = [
    '../../_base_/models/vit_base_p16.py',
    '../../_base_/datasets/vtab1k.py',
    '../../_base_/schedules/adamw_cosine.py',
    '../../_base_/peft/lora.py',
    '../../_base_/default_runtime.py',
]
model = dict(peft={{_base_.peft}}, head=dict(num_classes=100))
train_dataloader = dict(batch_size=8)
auto_scale_lr = dict(base_batch_size=64)
