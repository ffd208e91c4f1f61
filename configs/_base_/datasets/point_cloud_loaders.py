# What the point-cloud benchmark bases (ScanObjectNN, ModelNet40) share:
# the papers' batch of 32, the loaders' settings, top-1 accuracy, the point
# data preprocessor, Point-MAE's augmentation and the voting test's merge.
# The bases that inherit it add the datasets and the pipelines.
data_preprocessor = dict(type='PointDataPreprocessor')

# Point-MAE's training augmentation (PointcloudScaleAndTranslate), also one
# part of each view of its voting test.
scale_translate = dict(
    type='RandomScaleTranslate', scale_range=(2 / 3, 3 / 2),
    translate_range=0.2)

train_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    # As Point-MAE: no short last batch for the head's BatchNorm.
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
)
val_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
)
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_dataloader = val_dataloader
test_evaluator = val_evaluator

# Voting test: the class scores of a cloud's views (the bases'
# `tta_pipeline`) are averaged.
tta_model = dict(type='AverageClsScoreTTA')
