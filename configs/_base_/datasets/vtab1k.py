# VTAB-1k (adapterx.datasets.VTAB1k; the layout is in its docstring): one
# task, trained on train800val200 (the final run of the protocol) and tested
# on test. Report the test top-1 of the last checkpoint; never pick an epoch
# or a checkpoint on test.
#
# The val loader reads val200. To tune hyperparameters, train on train800
# (train_dataloader = dict(dataset=dict(split='train800'))) and val200 is
# held out; in the final run val200 is part of the training data, so its
# accuracy only shows that training fits.
#
# Picking a task: mmengine evaluates this file's variables when it parses
# it, so redefining `task` in a derived config changes nothing; restate the
# task in each dataset and the class count (VTAB1K_TASKS) where it is used:
#   task, num_classes = 'dtd', 47
#   train_dataloader = dict(dataset=dict(task=task))
#   val_dataloader = dict(dataset=dict(task=task))
#   test_dataloader = dict(dataset=dict(task=task))
#   data_preprocessor = dict(num_classes=num_classes)
#   model = dict(head=dict(num_classes=num_classes))
# or on the command line: --cfg-options {train,val,test}_dataloader.dataset.
# task=dtd data_preprocessor.num_classes=47 model.head.num_classes=47
data_root = 'data/vtab-1k'
task = 'cifar'
num_classes = 100

# Mean and std 0.5 (on 0-255 pixels) are what Google's ImageNet-21k
# ViT-B_16.npz was trained with; use ImageNet's for other checkpoints.
data_preprocessor = dict(
    num_classes=num_classes,
    mean=[127.5, 127.5, 127.5],
    std=[127.5, 127.5, 127.5],
    to_rgb=True,
)

# No augmentation, as in the VTAB-1k literature. Resize with an int scale
# and no keep_ratio gives exactly 224x224; the pillow backend antialiases
# when shrinking, like the torchvision Resize((224, 224), BICUBIC) that
# the PEFT codebases use (cv2 does not).
pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=224, interpolation='bicubic', backend='pillow'),
    dict(type='PackInputs'),
]

train_dataloader = dict(
    batch_size=64,
    num_workers=4,
    dataset=dict(
        type='VTAB1k',
        data_root=data_root,
        task=task,
        split='train800val200',
        pipeline=pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
)
# Evaluation loaders: the training loader's settings, unshuffled, on the
# val200 and test splits.
val_dataloader = dict(
    train_dataloader,
    dataset=dict(train_dataloader['dataset'], split='val200'),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_dataloader = dict(
    val_dataloader, dataset=dict(val_dataloader['dataset'], split='test'))
test_evaluator = val_evaluator
