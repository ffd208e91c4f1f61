# Adapter-X on ViT-B/16 (ImageNet-21k) for VTAB-1k, with the paper's
# protocol: AdamW lr 1e-3, wd 1e-4, batch 64, 100 epochs (10
# warm-up, cosine), no augmentation, drop path 0.1; trained on
# train800val200, top-1 of the last checkpoint on test.
#
#   tools/dist_train.sh configs/adapterx_vitb_vtab.py 8        # cifar
#   tools/dist_train.sh configs/adapterx/vtab/adapterx_vitb_vtab_dtd.py 8
#   python tools/run_vtab.py --gpus 8                           # all 19
#
# The task: one config per task under configs/adapterx/vtab/, or on the
# command line (mmengine resolves config variables at parse time, so each
# place that uses the task is named):
#   --cfg-options {train,val,test}_dataloader.dataset.task=dtd \
#       model.head.num_classes=47 data_preprocessor.num_classes=47
# The batch of 64 is the global batch: 8 GPUs x 8 per GPU.
_base_ = [
    './_base_/protocols/vit-b16_8xb8-100e_vtab1k.py',
    './_base_/peft/adapterx.py',
]
model = dict(peft={{_base_.peft}})
