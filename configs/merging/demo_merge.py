# The merging demo: the demo ViT (pretrained on fractals) fully
# fine-tuned on three tasks of distinct image statistics, then merged. In
# one command (fine-tuning with `finetune`, each task's data in turn):
#   .venv/bin/python tools/demo/run_merge_demo.py \
#       configs/merging/demo_merge.py --work-dir work_dirs/merge_demo
# or step by step:
#   for task in digits patterns gratings; do
#     .venv/bin/python tools/train.py \
#         configs/merging/demo_finetune_$task.py \
#         --work-dir work_dirs/merge_demo/demo_finetune_$task
#   done
#   .venv/bin/python tools/merge_vits.py configs/merging/demo_merge.py
_base_ = [
    '../_base_/models/vit_demo.py',
    '../_base_/datasets/in_memory_32px.py',
]
default_scope = 'adapterx'
work_dir = 'work_dirs/merge_demo/report'
demo_title = ('Merging demo: three tasks (digits, generated patterns and '
              'gratings), demo ViT')
# The weights every task was fine-tuned from: the demo backbone's.
pretrained = {{_base_.model.backbone.init_cfg.checkpoint}}
# What tools/demo/run_merge_demo.py fine-tunes each task with.
finetune = '{{ fileDirname }}/demo_finetune_digits.py'
runs = 'work_dirs/merge_demo'
synthetic = dict(type='SyntheticTaskImages', num_classes=8)
tasks = [
    dict(name='digits',
         checkpoint=f'{runs}/demo_finetune_digits/epoch_10.pth',
         train_data=dict(type='SklearnDigits', split='train'),
         test_data=dict(type='SklearnDigits', split='test')),
    dict(name='patterns',
         checkpoint=f'{runs}/demo_finetune_patterns/epoch_10.pth',
         train_data=dict(synthetic, task='patterns', split='train',
                         num_per_class=100),
         test_data=dict(synthetic, task='patterns', split='test',
                        num_per_class=40)),
    dict(name='gratings',
         checkpoint=f'{runs}/demo_finetune_gratings/epoch_10.pth',
         train_data=dict(synthetic, task='gratings', split='train',
                         num_per_class=100),
         test_data=dict(synthetic, task='gratings', split='test',
                        num_per_class=40)),
]
merging = dict(
    static=['weight_average', 'task_arithmetic', 'ties',
            'task_wise_adamerging', 'layer_wise_adamerging',
            'layer_wise_adamerging++'],
    task_arithmetic=dict(scaling=0.3),
    ties=dict(density=0.2, scaling=1.0),
    # AdaMerging learns its coefficients on the tasks' unlabeled TEST images
    # (its test-time protocol): Adam at the paper's lr from the paper's 0.3,
    # fewer steps than its 500 (the demo tasks are small); ++ trims like
    # TIES.
    adamerging=dict(steps=100, lr=1e-3, init=0.3, batch_size=16,
                    density=0.2, seed=0),
    # The static merge behind the dynamic one (combined merging).
    combine_with='ties',
    m=[0, 2, 4, 6],
    similarity=dict(metric='cosine', source='weights'),
    head_mode='task',
    routing=['sample', 'batch'],
    hard=False,
)
# The gate trains on the tasks' training images (never their test images),
# at most pool_cap of them a task, with TrivialAugmentWide.
gate = dict(type='TaskGate', arch='tiny_cnn', width=16)
gate_training = dict(epochs=5, lr=1e-3, batch_size=32, seed=0,
                     pool_cap=1000, trivial_augment=True)
batch_size = 128
num_workers = 0
