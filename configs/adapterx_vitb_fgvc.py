# Adapter-X on ViT-B/16 (ImageNet-21k) for FGVC (VPT's splits and
# preprocessing). The schedule is the VTAB-1k one [choice: the Adapter-X
# paper gives no FGVC settings]; select epochs and hyperparameters on val,
# report test. One config per dataset under configs/adapterx/fgvc/.
_base_ = [
    './_base_/models/vit_base_p16.py',
    './_base_/datasets/fgvc.py',
    './_base_/schedules/adamw_cosine.py',
    './_base_/peft/adapterx.py',
    './_base_/default_runtime.py',
]
model = dict(peft={{_base_.peft}}, head=dict(num_classes=200))
train_dataloader = dict(batch_size=8)
auto_scale_lr = dict(base_batch_size=64)
