# Generated point clouds of 8 primitive shapes (adapterx.datasets.
# SyntheticPointClouds): the 3D demo's data, no download. 800 training and
# 400 test clouds of 512 points, the same for every run (the data's own
# seed); train-time scale-and-translate as in the benchmarks' protocol.
num_classes = 8
num_points = 512

data_preprocessor = dict(type='PointDataPreprocessor')

train_pipeline = [
    dict(type='ShufflePoints'),
    dict(type='RandomScaleTranslate'),
    dict(type='PackPointInputs'),
]
test_pipeline = [dict(type='PackPointInputs')]

train_dataloader = dict(
    batch_size=16,
    num_workers=0,
    # Stated: mmpretrain's tools/train.py turns it on where a config is
    # silent, which DataLoader refuses without workers.
    persistent_workers=False,
    dataset=dict(
        type='SyntheticPointClouds',
        num_samples=800,
        num_points=num_points,
        num_classes=num_classes,
        noise=0.02,
        seed=0,
        split='train',
        pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
)
val_dataloader = dict(
    batch_size=64,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        train_dataloader['dataset'],
        num_samples=400,
        split='test',
        pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_dataloader = val_dataloader
test_evaluator = val_evaluator
