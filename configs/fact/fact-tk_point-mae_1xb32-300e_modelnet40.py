# FacT-TK on Point-MAE, ModelNet40, Point-MAE's scale-and-translate
# protocol, batch 32 on one GPU: the protocol base and the method's PEFT
# base. Settings and sources: docs/methods.md, "FacT" and "Point clouds".
_base_ = [
    '../_base_/protocols/point-mae_1xb32-300e_modelnet40.py',
    '../_base_/peft/fact_tk.py',
]
model = dict(peft={{_base_.peft}})
