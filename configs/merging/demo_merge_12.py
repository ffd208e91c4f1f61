# Twelve models merged: the demo ViT fine-tuned on the three generated
# tasks of the merging demo's kind (patterns, gratings, hues) and on the
# digits in nine generated domains (DigitDomains), each with its own head
# (task merging). In one command:
#   .venv/bin/python tools/demo/run_merge_demo.py \
#       configs/merging/demo_merge_12.py --work-dir work_dirs/merge_demo_12
_base_ = ['./demo_merge.py']
work_dir = 'work_dirs/merge_demo_12/report'
demo_title = ('Twelve models merged: three generated tasks and the digits '
              'in nine generated domains, demo ViT')
finetune = '{{ fileDirname }}/demo_finetune_short.py'
runs = 'work_dirs/merge_demo_12'
synthetic = dict(type='SyntheticTaskImages', num_classes=8)
domains = ['clean', 'inverted', 'noise', 'texture', 'rotated', 'coloured',
           'low_contrast', 'checker', 'blurred']
tasks = [
    dict(name=task, checkpoint=f'{runs}/{task}/epoch_4.pth',
         train_data=dict(synthetic, task=task, split='train',
                         num_per_class=100),
         test_data=dict(synthetic, task=task, split='test', num_per_class=40))
    for task in ['patterns', 'gratings', 'hues']
] + [
    dict(name=domain, checkpoint=f'{runs}/{domain}/epoch_4.pth',
         train_data=dict(type='DigitDomains', domain=domain, split='train'),
         test_data=dict(type='DigitDomains', domain=domain, split='test'))
    for domain in domains
]
merging = dict(
    static=['weight_average', 'task_arithmetic', 'ties',
            'layer_wise_adamerging'],
    m=[0, 2, 4, 6],
    routing=['sample'],
    # One-hot gate probabilities: the samples of a batch run in one group
    # per predicted task (soft ones cost a forward pass per sample).
    hard=True,
)
# TrivialAugmentWide's rotations, inversions (solarize) and contrast changes
# are the digit domains' own shifts: they would teach the gate to ignore
# them.
gate_training = dict(trivial_augment=False)
