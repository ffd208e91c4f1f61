# Adapter-X on ViT-B/16 (ImageNet-21k), VTAB-1k cifar (100 classes): the
# VTAB-1k protocol base and Adapter-X's PEFT base, nothing else changed.
# The settings and their sources: docs/methods.md, "Adapter-X" and
# "VTAB-1k".
#
#   tools/dist_train.sh configs/adapterx/adapterx_vit-b16_8xb8-100e_vtab1k-cifar.py 8
#   python tools/run_vtab.py --gpus 8      # all 19 tasks, then the table
#
# The other tasks: adapterx_vit-b16_8xb8-100e_vtab1k-<task>.py beside it.
_base_ = [
    '../_base_/protocols/vit-b16_8xb8-100e_vtab1k.py',
    '../_base_/peft/adapterx.py',
]
model = dict(peft={{_base_.peft}})
