# CLIP ViT-B/32 (OpenAI's weights) fine-tuned on the eight tasks of the
# merging benchmark (task arithmetic, TIES, AdaMerging, ...), each with its
# frozen zero-shot head, as tools/merge_vits.py reads them. What the user
# brings and how the files are made: docs/merging_clip.md.
#   pretrained: the zero-shot image tower (clip_to_mmpretrain.py)
#   checkpoints/clip-vit-b32/finetuned/<task>.safetensors: each task's
#       fine-tuned tower with its zero-shot head (clip_to_mmpretrain.py
#       --head)
#   data/clip_8tasks/<task>/: the layout of adapterx/datasets/task_folders.py
default_scope = 'adapterx'
data_root = 'data/clip_8tasks'
checkpoint_dir = 'checkpoints/clip-vit-b32'
pretrained = f'{checkpoint_dir}/zeroshot.safetensors'
model = dict(
    type='PeftImageClassifier',
    backbone=dict(
        type='CLIPVisionTransformer',
        arch='base',
        img_size=224,
        patch_size=32,
        output_dims=512,
        # QuickGELU, pre-norm and LayerNorm eps 1e-5 are the backbone's
        # defaults (OpenAI's CLIP).
        drop_rate=0.0,
        drop_path_rate=0.0),
    neck=None,
    # Each task's head (its class count included) comes from its
    # checkpoint; this one only builds the architecture.
    head=dict(
        type='ZeroShotClsHead',
        num_classes=10,
        in_channels=512,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0)),
)
# CLIP's preprocessing: the shorter side resized to 224 (bicubic, PIL), a
# 224 centre crop, RGB normalised with CLIP's mean and std.
data_preprocessor = dict(
    mean=[122.770938, 116.7460125, 104.09373615],
    std=[68.5005327, 66.6321579, 70.32316305],
    to_rgb=True,
)
pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=224, edge='short', backend='pillow',
         interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackInputs'),
]
# (task folder, classes) in the order of the benchmark's tables; the names
# and counts are adapterx.datasets.EIGHT_TASKS'.
task_classes = [('SUN397', 397), ('Cars', 196), ('RESISC45', 45),
                ('EuroSAT', 10), ('SVHN', 10), ('GTSRB', 43), ('MNIST', 10),
                ('DTD', 47)]
tasks = [
    dict(name=name,
         checkpoint=f'{checkpoint_dir}/finetuned/{name}.safetensors',
         # The gate's unlabeled images; 'exists' spares reading every
         # training image when the dataset is built (the gate reads at
         # most pool_cap of them).
         train_data=dict(type='ImageFolderTask', data_root=data_root,
                         task=name, split='train', num_classes=num_classes,
                         image_check='exists'),
         test_data=dict(type='ImageFolderTask', data_root=data_root,
                        task=name, split='test', num_classes=num_classes))
    for name, num_classes in task_classes
]
gate = dict(type='TaskGate', arch='tiny_cnn', width=32)
gate_training = dict(epochs=5, lr=1e-3, batch_size=64, seed=0,
                     pool_cap=1000, trivial_augment=True)
batch_size = 128
num_workers = 4
# The merged models out: <work_dir>/<method>.safetensors per static merge
# (the merged image tower; each task keeps its zero-shot head).
save_merged = True
