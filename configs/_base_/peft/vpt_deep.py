# VPT-deep (arXiv 2203.12119): every block gets its own prompt tokens,
# replacing the previous block's prompt outputs. Prompt count per task
# (10 here [choice]; IDPT's point-cloud VPT-deep also uses 10), no prompt
# dropout (VPT's default config).
_base_ = ['./trainable_hooks.py']
peft = dict(type='VPT', num_prompts=10, deep=True, dropout=0.0)
# Trainable: the prompts of every block and the head.
