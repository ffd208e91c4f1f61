# A folder written by adapterx.testing.make_image_folder (or by hand) in the
# VTAB-1k list format: `<data_root>/{train,test}.txt` with lines
# `images/<file> <label>`. Tests point data_root at their own folder with
# --cfg-options {train,val,test}_dataloader.dataset.data_root=...
data_root = 'data/tiny_images'
num_classes = 4

data_preprocessor = dict(
    num_classes=num_classes,
    mean=[127.5, 127.5, 127.5],
    std=[127.5, 127.5, 127.5],
    to_rgb=True,
)

pipeline = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]

train_dataloader = dict(
    batch_size=8,
    num_workers=0,
    # Stated: mmpretrain's tools/train.py turns it on where a config is
    # silent, which DataLoader refuses without workers.
    persistent_workers=False,
    dataset=dict(
        type='CustomDataset',
        data_root=data_root,
        ann_file='train.txt',
        classes=[f'class_{index}' for index in range(num_classes)],
        pipeline=pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
)
val_dataloader = dict(
    train_dataloader,
    batch_size=16,
    dataset=dict(train_dataloader['dataset'], ann_file='test.txt'),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_dataloader = val_dataloader
test_evaluator = val_evaluator
