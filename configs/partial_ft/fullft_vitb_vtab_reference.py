# Full fine-tuning of ViT-B/16 on VTAB-1k, same task and schedule as the
# partial fine-tuning configs: the baseline they are compared with, and the
# reference run whose last checkpoint the fine-tuned-angle configs measure
# (partial_ft_vitb_vtab_angle_*.py read
# work_dirs/fullft_vitb_vtab_reference/epoch_100.pth by default).
_base_ = ['./partial_ft_vitb_vtab.py']
model = dict(peft=dict(_delete_=True, type='FullFineTune'))
custom_hooks = [dict(type='ParameterFreezeHook')]
