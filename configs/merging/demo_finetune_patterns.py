# The merging demo's patterns task: the demo ViT (pretrained on fractals)
# fully fine-tuned on 8 classes of colour block patterns, with the digits
# task's schedule.
_base_ = ['./demo_finetune_digits.py']
num_classes = 8
train_dataloader = dict(dataset=dict(
    type='SyntheticTaskImages', task='patterns', split='train',
    num_classes=num_classes, num_per_class=100))
val_dataloader = dict(dataset=dict(
    type='SyntheticTaskImages', task='patterns', split='test',
    num_classes=num_classes, num_per_class=40))
test_dataloader = val_dataloader
data_preprocessor = dict(num_classes=num_classes)
model = dict(head=dict(num_classes=num_classes))
