# Adapter-X in 3D on Point-MAE, ScanObjectNN PB_T50_RS, at the paper's
# budget: adapterx_point-mae_1xb32-300e_scanobjectnn-pb-t50-rs.py (DAPT with
# SMoAs, DAPT's choices everywhere) without DAPT's scale-and-shifts, which
# with the head alone exceed the 1.88% the paper reports. This trains ~1.9%
# of the model with the head (3D convention) instead of ~2.35%; which of
# the two the paper ran is not stated [choice]. Settings and sources:
# docs/methods.md, "Adapter-X in 3D".
_base_ = ['./adapterx_point-mae_1xb32-300e_scanobjectnn-pb-t50-rs.py']
model = dict(peft=dict(scale_shifts=None))
