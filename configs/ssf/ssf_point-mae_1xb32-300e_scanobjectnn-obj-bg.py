# SSF on Point-MAE, ScanObjectNN OBJ_BG, Point-MAE's scale-and-translate
# protocol, batch 32 on one GPU: the protocol base and the method's PEFT
# base. Settings and sources: docs/methods.md, "SSF" and "Point clouds".
_base_ = [
    '../_base_/protocols/point-mae_1xb32-300e_scanobjectnn-obj-bg.py',
    '../_base_/peft/ssf.py',
]
model = dict(peft={{_base_.peft}})
