# The 3D demo with DAPT, the per-block method Adapter-X's 3D form shares its
# experts across blocks from. The demo backbone keeps the position embedding
# before every block it was pretrained with (DAPT's Point-MAE configs add it
# once: configs/dapt/).
_base_ = [
    '../_base_/models/point_demo.py',
    '../_base_/datasets/synthetic_point_clouds.py',
    '../_base_/schedules/demo_digits.py',
    '../_base_/peft/dapt.py',
    '../_base_/default_runtime.py',
]
model = dict(peft={{_base_.peft}}, head={{_base_.point_head}})
optim_wrapper = dict(optimizer=dict(lr=5e-3))
