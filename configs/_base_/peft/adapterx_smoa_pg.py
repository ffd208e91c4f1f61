# Ablation: SMoA + prompt generator, block norms (LN2) frozen.
_base_ = ['./adapterx_smoa_only.py']
peft = dict(prompt_generator=dict(_delete_=True, type='PromptGenerator'))
