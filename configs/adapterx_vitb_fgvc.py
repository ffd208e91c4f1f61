# Adapter-X on ViT-B/16 for FGVC (CUB200), the short name of
# configs/adapterx/adapterx_vit-b16_8xb8-100e_fgvc-cub200.py:
#   tools/dist_train.sh configs/adapterx_vitb_fgvc.py 8
_base_ = ['./adapterx/adapterx_vit-b16_8xb8-100e_fgvc-cub200.py']
