# The controllable dynamic merge (arXiv 2312.16240) on CLIP ViT-B/32's
# eight tasks: the m least similar attention and MLP units of the twelve
# blocks (and every norm and embedding) mixed per sample by the gate's task
# probabilities, the rest from TIES; static merges reported beside it:
#   python tools/merge_vits.py \
#       configs/merging/clip/dynamic-merge_clip-vit-b32_8tasks.py
_base_ = ['./task-arithmetic_clip-vit-b32_8tasks.py']
merging = dict(m=[0, 1, 2, 4, 6, 12], routing=['sample', 'batch'])
