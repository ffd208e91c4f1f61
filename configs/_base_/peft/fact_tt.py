# FacT-TT (arXiv 2212.03145): the increments of all d x d weight matrices
# of the blocks (q, k, v, o and the four pieces of fc1 and fc2 each)
# factorised as s * V M_j U with a free r x r core per matrix; dropout 0.1.
# Rank and scale are chosen per task in the paper's code (CIFAR-100's:
# r=8, s=1); the VTAB-1k config sets them per task. Merges into the
# weights.
_base_ = ['./trainable_hooks.py']
peft = dict(type='FacT', mode='tt', rank=8, scale=1.0, dropout=0.1)
