# ./adapterx_point-bert_1xb32-300e_scanobjectnn-pb-t50-rs.py on 8 GPUs of 4
# clouds each, the same batch of 32, with SyncBN: every BatchNorm (the group
# encoder's, the head's) normalises over the 32 clouds, as on one GPU.
_base_ = ['./adapterx_point-bert_1xb32-300e_scanobjectnn-pb-t50-rs.py']
train_dataloader = dict(batch_size=4)
sync_bn = 'torch'
