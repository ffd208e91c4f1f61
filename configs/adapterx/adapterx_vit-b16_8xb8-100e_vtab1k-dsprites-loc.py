# Adapter-X, ViT-B/16, VTAB-1k dsprites_loc (16 classes).
_base_ = ['./adapterx_vit-b16_8xb8-100e_vtab1k-cifar.py']
task, num_classes = 'dsprites_loc', 16
train_dataloader = dict(dataset=dict(task=task))
val_dataloader = dict(dataset=dict(task=task))
test_dataloader = dict(dataset=dict(task=task))
data_preprocessor = dict(num_classes=num_classes)
model = dict(head=dict(num_classes=num_classes))
