# Linear probing on Point-MAE for ScanObjectNN OBJ_BG: the setup of
# configs/full_finetune/full-finetune_point-mae_8xb4-300e_scanobjectnn-obj-bg.py (drop path 0.1,
# the papers' 300-epoch schedule, global batch 32 = 8 GPUs x 4) with
# the PEFT part replaced.
_base_ = [
    '../_base_/protocols/point-mae_1xb32-300e_scanobjectnn-obj-bg.py',
    '../_base_/peft/linear_probe.py',
]
model = dict(peft={{_base_.peft}})
# The batch of 32 is the global batch: 8 GPUs x 4 per GPU.
train_dataloader = dict(batch_size=4)
