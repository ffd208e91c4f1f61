# The VTAB-1k protocol on ViT-B/16 (ImageNet-21k): the model
# (../models/vit_base_p16.py: drop path 0.1, a linear head on the class
# token), one task's data (../datasets/vtab1k.py: trained on
# train800val200, tested on test, 224 px, no augmentation), NOAH's schedule
# (../schedules/adamw_cosine.py: AdamW lr 1e-3, weight decay 1e-4, 100
# epochs, 10 warm-up, cosine) and the runtime. Task cifar (100 classes);
# another task is picked as ../datasets/vtab1k.py shows. Every number and
# its source: docs/methods.md, "VTAB-1k".
#
# A method's config is this base, its PEFT base and what the method changes:
#   _base_ = ['../_base_/protocols/vit-b16_8xb8-100e_vtab1k.py',
#             '../_base_/peft/lora.py']
#   model = dict(peft={{_base_.peft}})
_base_ = [
    '../models/vit_base_p16.py',
    '../datasets/vtab1k.py',
    '../schedules/adamw_cosine.py',
    '../default_runtime.py',
]
model = dict(head=dict(num_classes=100))
# The protocol's batch of 64: 8 GPUs x 8 per GPU.
train_dataloader = dict(batch_size=8)
