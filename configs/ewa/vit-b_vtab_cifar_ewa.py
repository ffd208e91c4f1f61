# Fine-tuning ViT-B/16 (ImageNet-21k) on VTAB-1k cifar with EWA: every other
# block's pretrained FFN becomes 4 copies, trained as a random-partition MoE
# with Experts Weights Averaging, and averaged back into one FFN at the end
# (work_dir/dense_final.safetensors; test it with ./vit-b_vtab_cifar_dense.py).
_base_ = ['./vit-b_vtab_cifar_dense.py', '../_base_/peft/ewa.py']
model = dict(peft={{_base_.peft}})
