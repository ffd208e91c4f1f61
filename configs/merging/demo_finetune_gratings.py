# The merging demo's gratings task: as the patterns task, on 8 orientations
# of grey gratings.
_base_ = ['./demo_finetune_patterns.py']
train_dataloader = dict(dataset=dict(task='gratings'))
val_dataloader = dict(dataset=dict(task='gratings'))
test_dataloader = val_dataloader
