# Linear probing: the head alone trains on the frozen backbone.
_base_ = ['./trainable_hooks.py']
peft = dict(type='LinearProbe')
