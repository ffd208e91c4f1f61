# The 3D demo with linear probing: the pretrained demo point transformer
# frozen, only the head trains (same data and schedule as the others).
_base_ = [
    '../_base_/models/point_demo.py',
    '../_base_/datasets/synthetic_point_clouds.py',
    '../_base_/schedules/demo_digits.py',
    '../_base_/peft/linear_probe.py',
    '../_base_/default_runtime.py',
]
model = dict(peft={{_base_.peft}})
