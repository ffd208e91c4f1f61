# FacT-TK on ViT-B/16 for VTAB-1k: configs/adapterx_vitb_vtab.py with
# the PEFT part replaced (cifar here). All 19 tasks:
#   python tools/run_vtab.py configs/fact/fact-tk_vit-b16_8xb8-100e_vtab1k-cifar.py --gpus 8
# vtab_task_options: the paper's code's rank and scale for each task
# (tools/run_vtab.py applies them).
_base_ = [
    '../_base_/protocols/vit-b16_8xb8-100e_vtab1k.py',
    '../_base_/peft/fact_tk.py',
]
model = dict(peft={{_base_.peft}})
vtab_task_options = dict(
    cifar=dict(model=dict(peft=dict(rank=32, scale=0.1))),
    caltech101=dict(model=dict(peft=dict(rank=32, scale=10.0))),
    dtd=dict(model=dict(peft=dict(rank=16, scale=0.01))),
    oxford_flowers102=dict(model=dict(peft=dict(rank=32, scale=1.0))),
    oxford_iiit_pet=dict(model=dict(peft=dict(rank=16, scale=10.0))),
    svhn=dict(model=dict(peft=dict(rank=32, scale=100.0))),
    sun397=dict(model=dict(peft=dict(rank=16, scale=1.0))),
    patch_camelyon=dict(model=dict(peft=dict(rank=32, scale=10.0))),
    eurosat=dict(model=dict(peft=dict(rank=32, scale=100.0))),
    resisc45=dict(model=dict(peft=dict(rank=32, scale=10.0))),
    diabetic_retinopathy=dict(model=dict(peft=dict(rank=16, scale=1.0))),
    clevr_count=dict(model=dict(peft=dict(rank=32, scale=10.0))),
    clevr_dist=dict(model=dict(peft=dict(rank=16, scale=10.0))),
    dmlab=dict(model=dict(peft=dict(rank=32, scale=10.0))),
    kitti=dict(model=dict(peft=dict(rank=32, scale=10.0))),
    dsprites_loc=dict(model=dict(peft=dict(rank=32, scale=100.0))),
    dsprites_ori=dict(model=dict(peft=dict(rank=32, scale=1.0))),
    smallnorb_azi=dict(model=dict(peft=dict(rank=32, scale=100.0))),
    smallnorb_ele=dict(model=dict(peft=dict(rank=16, scale=10.0))),
)
