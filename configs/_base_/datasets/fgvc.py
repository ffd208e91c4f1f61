# FGVC with VPT's splits (adapterx.datasets.fgvc; the layout is in its
# docstring): one dataset, trained on train, validated on val (pick epochs
# and hyperparameters there) and tested on test.
#
# Picking a dataset: mmengine evaluates this file's variables when it
# parses it, so redefining `dataset_type` in a derived config changes
# nothing; restate the type in each dataset and the class count where it is
# used:
#   dataset_type, num_classes = 'StanfordCars196', 196
#   train_dataloader = dict(dataset=dict(type=dataset_type))
#   val_dataloader = dict(dataset=dict(type=dataset_type))
#   test_dataloader = dict(dataset=dict(type=dataset_type))
#   data_preprocessor = dict(num_classes=num_classes)
#   model = dict(head=dict(num_classes=num_classes))
# The types: CUB200, NABirds555, OxfordFlowers102, StanfordDogs120,
# StanfordCars196 (the number is the class count).
data_root = 'data/fgvc'
dataset_type = 'CUB200'
num_classes = 200

# Mean and std 0.5 (on 0-255 pixels) are what Google's ImageNet-21k
# ViT-B_16.npz was trained with. VPT's code normalised FGVC with ImageNet's
# mean and std even for that checkpoint; set those to reproduce it exactly.
data_preprocessor = dict(
    num_classes=num_classes,
    mean=[127.5, 127.5, 127.5],
    std=[127.5, 127.5, 127.5],
    to_rgb=True,
)

# VPT's transforms: the short side resized to 256, then a random 224 crop
# and a horizontal flip for training, the central 224 crop for testing.
# torchvision's Resize, which VPT used, is pillow's antialiased bilinear.
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=256, edge='short', backend='pillow'),
    dict(type='RandomCrop', crop_size=224),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=256, edge='short', backend='pillow'),
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackInputs'),
]

train_dataloader = dict(
    batch_size=64,
    num_workers=4,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
)
# Evaluation loaders: the training loader's settings, unshuffled, on the
# val and test splits with the test pipeline.
val_dataloader = dict(
    train_dataloader,
    dataset=dict(
        train_dataloader['dataset'], split='val', pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_dataloader = dict(
    val_dataloader, dataset=dict(val_dataloader['dataset'], split='test'))
test_evaluator = val_evaluator
