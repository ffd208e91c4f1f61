# ModelNet40 in the Point-BERT / Point-MAE layout (adapterx.datasets.
# ModelNet40; the layout is in its docstring), with Point-MAE's fine-tuning
# protocol ("scale-and-translate"): 8192 points per shape read from the
# furthest-point-sampled cache (or the shapes' text files), 1024 of them fed
# to the model, batch 32. modelnet40_h5.py reads PointNet's HDF5 release
# with the same protocol.
#
# ModelNet40 has no validation split: the val loader reads test, as the
# papers' code does. Report the test top-1 of the last checkpoint.
#
# Voting test (Point-MAE): `tta_pipeline` below and `tta_model` (from
# point_cloud_loaders.py, with the loaders' settings), swapped in for the
# test pipeline and the model by `--tta`.
_base_ = ['./point_cloud_loaders.py']
data_root = 'data/ModelNet/modelnet40_normal_resampled'
num_classes = 40

# Point-MAE centres every shape and scales it into the unit sphere. For
# training it shuffles the points (furthest point sampling then starts from
# a random one), samples 1200 by furthest point sampling and keeps a random
# 1024 of them; for testing, furthest point sampling of 1024.
train_pipeline = [
    dict(type='NormalizePoints'),
    dict(type='ShufflePoints'),
    dict(type='ResamplePoints', num_points=1024, method='fps',
         oversample=1200),
    {{_base_.scale_translate}},
    dict(type='PackPointInputs'),
]
test_pipeline = [
    dict(type='NormalizePoints'),
    dict(type='ResamplePoints', num_points=1024, method='fps'),
    dict(type='PackPointInputs'),
]

# Voting: furthest point sampling of 1200 once per test shape, then
# `num_votes` views, each a random 1024 of those 1200, scaled and
# translated; the class scores of the views are averaged.
num_votes = 10
tta_pipeline = [
    dict(type='NormalizePoints'),
    dict(type='ResamplePoints', num_points=1200, method='fps'),
    dict(
        type='TestTimeAug',
        transforms=[
            [dict(type='ResamplePoints', num_points=1024, method='random')
             for _ in range(num_votes)],
            [{{_base_.scale_translate}}],
            [dict(type='PackPointInputs')],
        ]),
]

train_dataloader = dict(
    dataset=dict(
        type='ModelNet40',
        data_root=data_root,
        split='train',
        num_points=8192,
        use_normals=False,
        pipeline=train_pipeline),
)
val_dataloader = dict(
    dataset=dict(
        train_dataloader['dataset'], split='test', pipeline=test_pipeline))
test_dataloader = val_dataloader
