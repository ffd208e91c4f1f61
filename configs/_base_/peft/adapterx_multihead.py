# The router's multi-head split as the paper's figure draws it: each token
# split into H=3 sub-tokens (768 = 3 x 256 on ViT-B/16), each routed to its
# own top-1 expert, the experts acting on 256 channels. With the default
# width r=8 that would halve the budget (0.09% of ViT-B/16); r=48 [choice]
# keeps the paper's ~0.20% (tests/models/test_adapterx_budget.py). The
# token width must divide by 3.
_base_ = ['./adapterx.py']
peft = dict(num_heads=3, bottleneck_dims=48)
