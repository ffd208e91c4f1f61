# Partial fine-tuning (arXiv 2312.15681): some residual units of the
# backbone and the head train, the rest stays at the pretrained weights.
# PartialFineTune takes one of the eight strategies (attention_only and
# ffn_only are the paper's; head_only, first_half, last_half,
# attention_last_half, ffn_last_half and norms_and_biases are ours), a list
# of units, or a fine-tuned-angle selection; the units of each backbone are
# defined in adapterx/models/partial_ft/units.py. A config picks another
# strategy with model = dict(peft=dict(strategy=...)), another kind of
# selection with peft=dict(_delete_=True, type='PartialFineTune', ...).
_base_ = ['./trainable_hooks.py']
peft = dict(type='PartialFineTune', strategy='attention_only')
