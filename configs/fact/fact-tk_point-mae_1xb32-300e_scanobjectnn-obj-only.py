# FacT-TK on Point-MAE, ScanObjectNN OBJ_ONLY, Point-MAE's
# scale-and-translate protocol, batch 32 on one GPU: the protocol base and
# the method's PEFT base. Settings and sources: docs/methods.md, "FacT" and
# "Point clouds".
_base_ = [
    '../_base_/protocols/point-mae_1xb32-300e_scanobjectnn-obj-only.py',
    '../_base_/peft/fact_tk.py',
]
model = dict(peft={{_base_.peft}})
