# VPT-shallow on Point-MAE for ScanObjectNN OBJ_ONLY.
# Drop path 0.1 (Point-MAE's fine-tuning);
# the papers' schedule (AdamW 5e-4, wd 0.05, 300 epochs, batch 32, grad
# clip 10) and train-time scale-and-translate (Point-MAE / DAPT protocol).
#
#   tools/dist_train.sh configs/vpt/vpt-shallow_point-mae_8xb4-300e_scanobjectnn-obj-only.py 8
_base_ = [
    '../_base_/protocols/point-mae_1xb32-300e_scanobjectnn-obj-only.py',
    '../_base_/peft/vpt_shallow.py',
]
model = dict(peft={{_base_.peft}})
# The batch of 32 is the global batch: 8 GPUs x 4 per GPU.
train_dataloader = dict(batch_size=4)
