# What the downstream (mmseg, mmdet) configs take from adapterx: ViT-B/16 as
# the dense backbone's ViT, Adapter-X with the settings of
# configs/_base_/peft/adapterx.py (`peft`), the freezing, and the runner that
# applies it.
_base_ = '../../_base_/peft/adapterx.py'

# mmseg's and mmdet's tools build `runner_type` when a config names one:
# PeftRunner's strict checkpoint loading, guarded optimizer wrappers and
# atomic checkpoints apply to the downstream runs too.
runner_type = 'adapterx.PeftRunner'

# Google's ImageNet-21k ViT-B/16 (converted as README says). It is loaded
# at 224 and its position embedding interpolated to each input's size at
# every forward, so it serves 512x512 crops and 1333x800 images alike.
vit_b16 = dict(
    type='VisionTransformer',
    arch='base',
    img_size=224,
    patch_size=16,
    drop_path_rate=0.1,
    out_type='featmap',
    init_cfg=dict(
        type='Pretrained',
        checkpoint='pretrained/vit-b16_in21k.safetensors',
        prefix='backbone.'))
# Normalization the ImageNet-21k weights were trained with (0.5 / 0.5).
vit_b16_mean = [127.5, 127.5, 127.5]
vit_b16_std = [127.5, 127.5, 127.5]

# PeftViTDense froze itself to Adapter-X's trainable set when it was built;
# the neck and the decode / auxiliary / RPN / RoI heads are new for the task
# and train. The hook applies, reports and verifies that set; the head of the
# counts is everything outside the backbone.
custom_hooks = [
    dict(
        type='adapterx.ParameterFreezeHook',
        head_pattern=r'^(?!backbone\.)'),
]
