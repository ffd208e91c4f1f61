# ./vpt-shallow_point-mae_1xb32-300e_scanobjectnn-obj-only.py on 8 GPUs of 4
# clouds each, the same batch of 32, with SyncBN: every BatchNorm (the group
# encoder's, the head's) normalises over the 32 clouds, as on one GPU.
_base_ = ['./vpt-shallow_point-mae_1xb32-300e_scanobjectnn-obj-only.py']
train_dataloader = dict(batch_size=4)
sync_bn = 'torch'
