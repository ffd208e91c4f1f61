# scikit-learn's handwritten digits as 32x32 RGB (SklearnDigits): 1,258
# training and 539 test images, no download.
_base_ = ['./in_memory_32px.py']
train_dataloader = dict(dataset=dict(type='SklearnDigits', split='train'))
val_dataloader = dict(dataset=dict(type='SklearnDigits', split='test'))
test_dataloader = val_dataloader
