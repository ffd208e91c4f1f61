# The digits demo with AdaptFormer (r=8, s=0.1 on every MLP): the single-
# adapter reference Adapter-X's cost is compared with
# (tools/analysis_tools/benchmark.py).
_base_ = [
    '../_base_/models/vit_demo.py',
    '../_base_/datasets/sklearn_digits.py',
    '../_base_/schedules/demo_digits.py',
    '../_base_/peft/adaptformer.py',
    '../_base_/default_runtime.py',
]
model = dict(peft={{_base_.peft}})
# The same larger adapter step as the Adapter-X demo (zero-initialised
# up-projections, short schedule).
optim_wrapper = dict(optimizer=dict(lr=1e-2))
