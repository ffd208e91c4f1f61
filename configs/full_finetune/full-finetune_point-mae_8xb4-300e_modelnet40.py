# Full fine-tuning of Point-MAE for ModelNet40 (1024 points): every parameter
# trains; drop path 0.1 as Point-BERT's and Point-MAE's own configs;
# the papers' schedule (AdamW 5e-4, wd 0.05, 300 epochs, batch 32, grad clip 10)
# and train-time scale-and-translate (the Point-MAE / DAPT protocol).
#
#   tools/dist_train.sh configs/full_finetune/full-finetune_point-mae_8xb4-300e_modelnet40.py 8
#   .venv/bin/python tools/test.py configs/full_finetune/full-finetune_point-mae_8xb4-300e_modelnet40.py CKPT --tta   # 10-view voting
_base_ = [
    '../_base_/protocols/point-mae_1xb32-300e_modelnet40.py',
    '../_base_/peft/full_finetune.py',
]
model = dict(peft={{_base_.peft}})
# The batch of 32 is the global batch: 8 GPUs x 4 per GPU.
train_dataloader = dict(batch_size=4)
