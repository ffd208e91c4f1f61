# FacT-TK (arXiv 2212.03145): as FacT-TT (./fact_tt.py) but the cores come
# from one Tucker core C (r x r x r) and a factor P (r x 12L). CIFAR-100's
# rank and scale in the paper's code: r=32, s=0.1; the VTAB-1k config sets
# them per task. Merges into the weights.
_base_ = ['./fact_tt.py']
peft = dict(mode='tk', rank=32, scale=0.1)
