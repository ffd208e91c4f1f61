# The teaser's other 2D variant, "Adapter-X": the SMoA in the sequential
# adapter position of Houlsby et al., after the MLP on its output,
# x + f + SMoA(f) with f = MLP(LN2(x)), instead of beside the MLP on LN2's
# output (./adapterx.py, AdaptFormer's parallel position: the teaser's
# "AdaptFormer-X"). The same parameters, so the same ~0.20% of ViT-B/16
# (tests/models/test_adapterx_budget.py).
_base_ = ['./adapterx.py']
peft = dict(adapter_position='sequential')
