# The Prompt Generator as the paper's figure draws it,
# p = mean(a) * gamma + beta, without the GELU before the mean that
# ./adapterx.py takes from DAPT's code [lineage].
_base_ = ['./adapterx.py']
peft = dict(prompt_generator=dict(act_cfg=None))
