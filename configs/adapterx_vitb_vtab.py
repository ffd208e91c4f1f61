# Adapter-X on ViT-B/16 for VTAB-1k (cifar), the short name of
# configs/adapterx/adapterx_vit-b16_8xb8-100e_vtab1k-cifar.py:
#   tools/dist_train.sh configs/adapterx_vitb_vtab.py 8
_base_ = ['./adapterx/adapterx_vit-b16_8xb8-100e_vtab1k-cifar.py']
