# Full fine-tuning on Point-MAE, ScanObjectNN OBJ_ONLY, Point-MAE's
# scale-and-translate protocol, batch 32 on one GPU: the protocol base and
# the method's PEFT base. Settings and sources: docs/methods.md, "Full
# fine-tuning" and "Point clouds".
_base_ = [
    '../_base_/protocols/point-mae_1xb32-300e_scanobjectnn-obj-only.py',
    '../_base_/peft/full_finetune.py',
]
model = dict(peft={{_base_.peft}})
