# The digits demo with Adapter-X: the demo ViT pretrained on
# fractals (configs/_base_/models/vit_demo.py), adapted to scikit-learn's digits.
_base_ = [
    '../_base_/models/vit_demo.py',
    '../_base_/datasets/sklearn_digits.py',
    '../_base_/schedules/demo_digits.py',
    '../_base_/peft/adapterx.py',
    '../_base_/default_runtime.py',
]
model = dict(peft={{_base_.peft}})
# Adapters start from zero and train ~1.5% of the weights: on this short
# schedule they take a larger step (chosen for the demo, not a benchmark
# protocol).
optim_wrapper = dict(optimizer=dict(lr=1e-2))
