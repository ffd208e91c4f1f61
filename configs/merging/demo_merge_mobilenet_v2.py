# The merging demo with the gate the authors use: torchvision's MobileNetV2
# initialised from its ImageNet weights. Bring the file yourself (it is
# torchvision's MobileNet_V2_Weights.IMAGENET1K_V1, mobilenet_v2-b0353104.pth;
# nothing is downloaded) and pass its path:
#   .venv/bin/python tools/merge_vits.py \
#       configs/merging/demo_merge_mobilenet_v2.py \
#       --cfg-options gate.pretrained=checkpoints/mobilenet_v2-b0353104.pth
_base_ = ['./demo_merge.py']
work_dir = 'work_dirs/merge_demo/report_mobilenet_v2'
gate = dict(_delete_=True, type='TaskGate', arch='mobilenet_v2',
            width_mult=1.0, pretrained='checkpoints/mobilenet_v2-b0353104.pth')
