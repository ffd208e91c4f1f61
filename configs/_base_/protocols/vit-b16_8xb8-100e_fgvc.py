# The FGVC protocol on ViT-B/16 (ImageNet-21k): the model
# (../models/vit_base_p16.py), one dataset with VPT's splits and transforms
# (../datasets/fgvc.py: trained on train, epochs and settings chosen on
# val, tested on test), the VTAB-1k schedule (../schedules/adamw_cosine.py
# [choice: the Adapter-X paper gives no FGVC settings]) and the runtime.
# Dataset CUB200 (200 classes); another is picked as ../datasets/fgvc.py
# shows. Every number and its source: docs/methods.md, "FGVC".
_base_ = [
    '../models/vit_base_p16.py',
    '../datasets/fgvc.py',
    '../schedules/adamw_cosine.py',
    '../default_runtime.py',
]
model = dict(head=dict(num_classes=200))
# The protocol's batch of 64: 8 GPUs x 8 per GPU.
train_dataloader = dict(batch_size=8)
