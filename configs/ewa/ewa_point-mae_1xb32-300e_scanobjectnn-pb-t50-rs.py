# EWA on Point-MAE, ScanObjectNN PB_T50_RS, Point-MAE's scale-and-translate
# protocol, batch 32 on one GPU: the protocol base and the method's PEFT
# base. The dense model saved at the end (work_dir/dense_final.safetensors)
# is tested with
# configs/full_finetune/full-finetune_point-mae_1xb32-300e_scanobjectnn-pb-t50-rs.py.
# Settings and sources: docs/methods.md, "EWA" and "Point clouds".
_base_ = [
    '../_base_/protocols/point-mae_1xb32-300e_scanobjectnn-pb-t50-rs.py',
    '../_base_/peft/ewa.py',
]
model = dict(peft={{_base_.peft}})
