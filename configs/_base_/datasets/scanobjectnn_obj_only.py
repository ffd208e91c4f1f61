# ScanObjectNN OBJ_ONLY (the objects without their background) with
# Point-MAE's scale-and-translate protocol; everything but the variant as in
# scanobjectnn_pb_t50_rs.py. The rotation protocol is
# scanobjectnn_obj_only_rotation.py.
_base_ = ['./scanobjectnn_pb_t50_rs.py']
train_dataloader = dict(dataset=dict(variant='obj_only'))
val_dataloader = dict(dataset=dict(variant='obj_only'))
test_dataloader = dict(dataset=dict(variant='obj_only'))
