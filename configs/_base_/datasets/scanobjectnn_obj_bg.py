# ScanObjectNN OBJ_BG (the objects with the background points of their
# boxes) with Point-MAE's scale-and-translate protocol; everything but the
# variant as in scanobjectnn_pb_t50_rs.py. The rotation protocol is
# scanobjectnn_obj_bg_rotation.py.
_base_ = ['./scanobjectnn_pb_t50_rs.py']
train_dataloader = dict(dataset=dict(variant='obj_bg'))
val_dataloader = dict(dataset=dict(variant='obj_bg'))
test_dataloader = dict(dataset=dict(variant='obj_bg'))
