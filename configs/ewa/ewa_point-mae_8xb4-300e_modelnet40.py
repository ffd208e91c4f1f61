# Fine-tuning Point-MAE on ModelNet40 (1024 points) with EWA, as
# ./ewa_point-mae_8xb4-300e_scanobjectnn-pb-t50-rs.py does for ScanObjectNN; test
# dense_final.safetensors with
# configs/full_finetune/full-finetune_point-mae_8xb4-300e_modelnet40.py.
_base_ = [
    '../_base_/protocols/point-mae_1xb32-300e_modelnet40.py',
    '../_base_/peft/ewa.py',
]
model = dict(peft={{_base_.peft}})
# The batch of 32 is the global batch: 8 GPUs x 4 per GPU.
train_dataloader = dict(batch_size=4)
