# ScanObjectNN OBJ_BG (2048 points) on Point-MAE with Point-MAE's scale-and-
# translate protocol (training clouds scaled per axis and translated): the
# model (../models/point_mae_scanobjectnn.py) with 128 groups of 32 points,
# drop path 0.1 (the backbone's own fine-tuning) and 15 classes; the data
# (../datasets/scanobjectnn_obj_bg.py: the last checkpoint's test top-1, the
# voting test with --tta); the papers' schedule
# (../schedules/point_adamw_cosine_300e.py: AdamW 5e-4, weight decay 0.05, 300
# epochs, 10 warm-up, cosine, gradient clipping at 10) and the runtime; batch
# 32 on one GPU, as Point-MAE and DAPT train. Every number and its source:
# docs/methods.md, "Point clouds".
_base_ = [
    '../models/point_mae_scanobjectnn.py',
    '../datasets/scanobjectnn_obj_bg.py',
    '../schedules/point_adamw_cosine_300e.py',
    '../default_runtime.py',
]
