# FacT-TK on Point-MAE for ModelNet40 (1024 points): the setup of
# configs/full_finetune/full-finetune_point-mae_8xb4-300e_modelnet40.py (drop path 0.1,
# the papers' 300-epoch schedule, global batch 32 = 8 GPUs x 4) with
# the PEFT part replaced.
_base_ = [
    '../_base_/protocols/point-mae_1xb32-300e_modelnet40.py',
    '../_base_/peft/fact_tk.py',
]
model = dict(peft={{_base_.peft}})
# The batch of 32 is the global batch: 8 GPUs x 4 per GPU.
train_dataloader = dict(batch_size=4)
