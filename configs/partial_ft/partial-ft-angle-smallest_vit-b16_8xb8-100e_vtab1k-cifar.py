# Fine-tuned-angle partial fine-tuning (paper), the other end: the k=4
# units of each group with the smallest angles (the end that suits easy
# tasks) train, with the head; see
# partial-ft-angle-largest_vit-b16_8xb8-100e_vtab1k-cifar.py.
_base_ = ['./partial-ft-angle-largest_vit-b16_8xb8-100e_vtab1k-cifar.py']
model = dict(peft=dict(angle_selection=dict(end='smallest')))
