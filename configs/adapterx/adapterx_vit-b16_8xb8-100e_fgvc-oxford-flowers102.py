# Adapter-X, ViT-B/16, FGVC OxfordFlowers102 (102 classes).
_base_ = ['./adapterx_vit-b16_8xb8-100e_fgvc-cub200.py']
dataset_type, num_classes = 'OxfordFlowers102', 102
train_dataloader = dict(dataset=dict(type=dataset_type))
val_dataloader = dict(dataset=dict(type=dataset_type))
test_dataloader = dict(dataset=dict(type=dataset_type))
data_preprocessor = dict(num_classes=num_classes)
model = dict(head=dict(num_classes=num_classes))
