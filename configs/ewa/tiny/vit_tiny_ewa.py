# EWA on the test ViT and the tiny data (seconds on a CPU): the FFN of its
# second block becomes a random-partition MoE with expert averaging; the
# dense model saved at the end is tested with
# configs/tiny/vit_tiny_fullft.py.
_base_ = ['../../tiny/vit_tiny_fullft.py', '../../_base_/peft/ewa.py']
model = dict(peft={{_base_.peft}})
