# The static merges of the benchmark on CLIP ViT-B/32's eight tasks:
# weight averaging, task arithmetic (scaling 0.3, the value task arithmetic
# selects for eight tasks) and TIES (top 20% of each task vector, scaling
# 1), each beside the eight fine-tuned models kept apart:
#   python tools/merge_vits.py \
#       configs/merging/clip/task-arithmetic_clip-vit-b32_8tasks.py
# writes per-task accuracy and storage to work_dirs/<config>/merge_report.md.
_base_ = ['./_base_/clip-vit-b32_8tasks.py']
merging = dict(
    static=['weight_average', 'task_arithmetic', 'ties'],
    task_arithmetic=dict(scaling=0.3),
    ties=dict(density=0.2, scaling=1.0),
    combine_with='ties',
    # No dynamic merge (merge_vits still trains the gate it would use).
    m=[],
    similarity=dict(metric='cosine', source='weights'),
    head_mode='task',
    routing=['sample'],
    hard=False,
)
