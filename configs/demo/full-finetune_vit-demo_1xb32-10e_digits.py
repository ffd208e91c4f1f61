# The digits demo with full finetune: the demo ViT pretrained on
# fractals (configs/_base_/models/vit_demo.py), adapted to scikit-learn's digits.
_base_ = [
    '../_base_/models/vit_demo.py',
    '../_base_/datasets/sklearn_digits.py',
    '../_base_/schedules/demo_digits.py',
    '../_base_/peft/full_finetune.py',
    '../_base_/default_runtime.py',
]
model = dict(peft={{_base_.peft}})
