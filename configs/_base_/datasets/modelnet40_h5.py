# ModelNet40 in PointNet's HDF5 release (adapterx.datasets.ModelNet40H5:
# ply_data_{train,test}N.h5, 2048 points per shape, already centred and
# scaled), with the protocol of modelnet40.py: Point-MAE's sampling of 1024
# points, train-time scale-and-translate, the same voting test.
_base_ = ['./modelnet40.py']
data_root = 'data/modelnet40_ply_hdf5_2048'
# _delete_: ModelNet40's num_points and use_normals do not apply.
h5_dataset = dict(_delete_=True, type='ModelNet40H5', data_root=data_root)
train_dataloader = dict(
    dataset=dict(h5_dataset, split='train',
                 pipeline={{_base_.train_pipeline}}))
val_dataloader = dict(
    dataset=dict(h5_dataset, split='test',
                 pipeline={{_base_.test_pipeline}}))
test_dataloader = val_dataloader
