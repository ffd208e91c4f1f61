# VPT-shallow (arXiv 2203.12119): prompt tokens after the class token,
# before the first block only. VPT picks the prompt count per task from
# {1, 5, 10, 50, 100, 200}; 10 here [choice], overridden per task.
# Prompts: U(-b, b), b = sqrt(6 / (3 * 16 * 16 + 768)) on ViT-B/16; no
# prompt dropout (VPT's default config).
_base_ = ['./trainable_hooks.py']
peft = dict(type='VPT', num_prompts=10, deep=False, dropout=0.0)
# Trainable: the prompts and the head (VPT freezes the class token too).
