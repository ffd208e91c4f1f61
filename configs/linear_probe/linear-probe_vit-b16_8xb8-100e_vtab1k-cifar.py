# Linear probing on ViT-B/16 (ImageNet-21k), VTAB-1k cifar: the VTAB-1k
# protocol base and the method's PEFT base, nothing else changed.
# tools/run_vtab.py runs all 19 tasks with it, each task's class count set
# on the command line. Settings and sources: docs/methods.md, "Linear
# probing" and "VTAB-1k".
_base_ = [
    '../_base_/protocols/vit-b16_8xb8-100e_vtab1k.py',
    '../_base_/peft/linear_probe.py',
]
model = dict(peft={{_base_.peft}})
