# Fine-tuned-angle partial fine-tuning (paper): the angle of every residual
# unit between the pretrained weights and a fully fine-tuned reference on the
# same task (train configs/full_finetune/
# full-finetune_vit-b16_8xb8-100e_vtab1k-cifar.py first) ranks the units of
# each group (attention units, FFN units); the k with the largest angles
# (the end that suits hard tasks) train, with the head. k=4 of 12 [choice].
# Another reference, pretrained file, k or end on the command line:
#   --cfg-options model.peft.angle_selection.finetuned=REF.pth \
#       model.peft.angle_selection.k=6
# (a changed model.backbone.init_cfg.checkpoint must be restated as
# model.peft.angle_selection.pretrained). To train a selection written
# by tools/analysis_tools/finetuned_angle.py --emit-config, train the config
# it wrote instead.
_base_ = ['./partial-ft-attention-only_vit-b16_8xb8-100e_vtab1k-cifar.py']
angle_pretrained = {{_base_.model.backbone.init_cfg.checkpoint}}
angle_reference = ('work_dirs/full-finetune_vit-b16_8xb8-100e_vtab1k-cifar/'
                   'epoch_100.pth')
model = dict(
    peft=dict(
        _delete_=True,
        type='PartialFineTune',
        angle_selection=dict(
            pretrained=angle_pretrained,
            finetuned=angle_reference,
            k=4,
            end='largest')))
