# The 3D demo with full fine-tuning of the pretrained demo point
# transformer (same data and schedule as configs/demo/adapterx_point-demo_1xb16-10e_synthetic-points8.py).
_base_ = [
    '../_base_/models/point_demo.py',
    '../_base_/datasets/synthetic_point_clouds.py',
    '../_base_/schedules/demo_digits.py',
    '../_base_/peft/full_finetune.py',
    '../_base_/default_runtime.py',
]
model = dict(peft={{_base_.peft}})
