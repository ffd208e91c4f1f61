# FacT-TT on ViT-B/16 (ImageNet-21k), VTAB-1k cifar: the VTAB-1k protocol
# base and the method's PEFT base, nothing else changed. tools/run_vtab.py
# runs all 19 tasks with it, each task's class count and the method's
# per-task rank and scale (vtab_task_options) set on the command line.
# Settings and sources: docs/methods.md, "FacT" and "VTAB-1k".
_base_ = [
    '../_base_/protocols/vit-b16_8xb8-100e_vtab1k.py',
    '../_base_/peft/fact_tt.py',
]
model = dict(peft={{_base_.peft}})
vtab_task_options = dict(
    cifar=dict(model=dict(peft=dict(rank=8, scale=1.0))),
    caltech101=dict(model=dict(peft=dict(rank=16, scale=10.0))),
    dtd=dict(model=dict(peft=dict(rank=8, scale=0.01))),
    oxford_flowers102=dict(model=dict(peft=dict(rank=16, scale=1.0))),
    oxford_iiit_pet=dict(model=dict(peft=dict(rank=8, scale=1.0))),
    svhn=dict(model=dict(peft=dict(rank=16, scale=100.0))),
    sun397=dict(model=dict(peft=dict(rank=8, scale=1.0))),
    patch_camelyon=dict(model=dict(peft=dict(rank=8, scale=10.0))),
    eurosat=dict(model=dict(peft=dict(rank=8, scale=100.0))),
    resisc45=dict(model=dict(peft=dict(rank=8, scale=0.1))),
    diabetic_retinopathy=dict(model=dict(peft=dict(rank=8, scale=1.0))),
    clevr_count=dict(model=dict(peft=dict(rank=16, scale=1.0))),
    clevr_dist=dict(model=dict(peft=dict(rank=4, scale=10.0))),
    dmlab=dict(model=dict(peft=dict(rank=16, scale=10.0))),
    kitti=dict(model=dict(peft=dict(rank=16, scale=10.0))),
    dsprites_loc=dict(model=dict(peft=dict(rank=16, scale=100.0))),
    dsprites_ori=dict(model=dict(peft=dict(rank=16, scale=1.0))),
    smallnorb_azi=dict(model=dict(peft=dict(rank=16, scale=100.0))),
    smallnorb_ele=dict(model=dict(peft=dict(rank=8, scale=10.0))),
)
