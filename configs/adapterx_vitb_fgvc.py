# Adapter-X on ViT-B/16 (ImageNet-21k) for FGVC (VPT's splits and
# preprocessing). The schedule is the VTAB-1k one [choice: the Adapter-X
# paper gives no FGVC settings]; select epochs and hyperparameters on val,
# report test. One config per dataset under configs/adapterx/fgvc/.
_base_ = [
    './_base_/protocols/vit-b16_8xb8-100e_fgvc.py',
    './_base_/peft/adapterx.py',
]
model = dict(peft={{_base_.peft}})
