# BitFit (arXiv 2106.10199) as the ViT PEFT literature runs it (VPT's and
# NOAH's baseline): every bias of the backbone trains (linear, LayerNorm,
# patch embedding; in 3D also the group encoder's), with the head. No
# module is added, so there is nothing to merge: the trained backbone is
# already a plain one.
_base_ = ['./trainable_hooks.py']
peft = dict(type='BitFit')
