# Fine-tuning Point-MAE on ScanObjectNN PB_T50_RS with EWA: every other
# block's pretrained FFN becomes 4 copies, trained as a random-partition MoE
# with Experts Weights Averaging, and averaged back into one FFN at the end
# (work_dir/dense_final.safetensors). Test that file with the dense config:
#   tools/dist_test.sh \
#       configs/full_finetune/full-finetune_point-mae_8xb4-300e_scanobjectnn-pb-t50-rs.py \
#       work_dirs/ewa_point-mae_8xb4-300e_scanobjectnn-pb-t50-rs/dense_final.safetensors 8
_base_ = [
    '../_base_/protocols/point-mae_1xb32-300e_scanobjectnn-pb-t50-rs.py',
    '../_base_/peft/ewa.py',
]
model = dict(peft={{_base_.peft}})
# The batch of 32 is the global batch: 8 GPUs x 4 per GPU.
train_dataloader = dict(batch_size=4)
