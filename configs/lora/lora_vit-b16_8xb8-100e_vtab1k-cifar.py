# LoRA on ViT-B/16 for VTAB-1k: configs/adapterx_vitb_vtab.py with
# the PEFT part replaced (cifar here). All 19 tasks:
#   python tools/run_vtab.py configs/lora/lora_vit-b16_8xb8-100e_vtab1k-cifar.py --gpus 8
_base_ = [
    '../_base_/protocols/vit-b16_8xb8-100e_vtab1k.py',
    '../_base_/peft/lora.py',
]
model = dict(peft={{_base_.peft}})
