# Ablation: SMoA alone (no prompt generator, block norms frozen).
_base_ = ['./adapterx.py']
peft = dict(prompt_generator=None, trainable_exclude=[r'\.(ln2|norm2)\.'])
