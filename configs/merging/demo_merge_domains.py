# Domain merging demo: one task (the ten digits) in five generated domains
# (DigitDomains: as they are, colour-inverted, under pixel noise, on a
# striped texture, rotated by 90 degrees), the demo ViT fine-tuned on each,
# merged with the heads mixed by the gate's probabilities
# (head_mode='domain'). In one command:
#   .venv/bin/python tools/demo/run_merge_demo.py \
#       configs/merging/demo_merge_domains.py \
#       --work-dir work_dirs/merge_demo_domains
_base_ = ['./demo_merge.py']
work_dir = 'work_dirs/merge_demo_domains/report'
demo_title = ('Domain merging demo: the digits in five generated domains, '
              'demo ViT, heads mixed by the gate')
finetune = '{{ fileDirname }}/demo_finetune_short.py'
runs = 'work_dirs/merge_demo_domains'
domains = ['clean', 'inverted', 'noise', 'texture', 'rotated']
tasks = [
    dict(name=domain, checkpoint=f'{runs}/{domain}/epoch_4.pth',
         train_data=dict(type='DigitDomains', domain=domain, split='train'),
         test_data=dict(type='DigitDomains', domain=domain, split='test'))
    for domain in domains
]
merging = dict(
    static=['weight_average', 'task_arithmetic', 'ties',
            'layer_wise_adamerging'],
    m=[0, 2, 4, 6],
    head_mode='domain',
    routing=['sample'],
)
# TrivialAugmentWide's rotations, inversions (solarize) and contrast changes
# are these domains' own shifts: they would teach the gate to ignore them.
gate_training = dict(trivial_augment=False)
