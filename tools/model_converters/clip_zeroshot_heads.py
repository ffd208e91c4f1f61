"""Write CLIP zero-shot classification heads, one file per task.

    python tools/model_converters/clip_zeroshot_heads.py CLIP OUT_DIR
        --tokenizer DIR --data-root ROOT [--tasks TASK ...]
        [--text-heads N] [--activation {quick_gelu,gelu}] [--trust]

CLIP: a full OpenAI CLIP / open_clip model's state dict (``.bin``,
``.pth``, ``.pt`` or ``.safetensors``: image and text towers and
``logit_scale``, e.g. open_clip's ``open_clip_pytorch_model.bin`` of
ViT-B-32 ``openai``; OpenAI's TorchScript ``.pt`` is no state dict: save
``torch.jit.load(path, map_location='cpu').state_dict()`` first).

--tokenizer: a folder with CLIP's ``vocab.json`` and ``merges.txt`` (the
tokenizer files of the Hugging Face model ``openai/clip-vit-base-patch32``);
read with ``transformers``.

For each task (default: the eight of the benchmark) the class names come
from ``ROOT/<task>/classnames.txt`` and the prompt templates from
``ROOT/<task>/templates.txt`` or, without one, CLIP's templates of the task
(the layout of ``adapterx/datasets/task_folders.py``). Each class's row is
the mean of its prompts' normalised text features, normalised, times
``exp(logit_scale)`` (the heads of task arithmetic). Writes
``OUT_DIR/<task>.safetensors`` holding ``head.fc.weight`` for
``ZeroShotClsHead``; ``tools/model_converters/clip_to_mmpretrain.py
--head`` joins it to an image tower.
"""
import argparse
from pathlib import Path

from adapterx.checkpoint.io import save_weights
from adapterx.datasets import EIGHT_TASK_NAMES, read_class_names, read_templates
from adapterx.models.clip_text import (ACTIVATIONS, load_clip_tokenizer,
                                       read_clip_text_model, tokenize,
                                       zero_shot_weights)

HEAD_WEIGHT = 'head.fc.weight'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('clip', help="a full CLIP model's state dict")
    parser.add_argument('out_dir', help='where <task>.safetensors go')
    parser.add_argument('--tokenizer', required=True,
                        help='folder with vocab.json and merges.txt')
    parser.add_argument('--data-root', required=True,
                        help='the folder holding the task folders')
    parser.add_argument('--tasks', nargs='+', default=list(EIGHT_TASK_NAMES))
    parser.add_argument('--text-heads', type=int,
                        help="attention heads of the text tower (default "
                        "width // 64, OpenAI's rule)")
    parser.add_argument('--activation', choices=ACTIVATIONS,
                        default='quick_gelu',
                        help="the text tower's MLP activation: quick_gelu "
                        "for OpenAI's weights")
    parser.add_argument(
        '--trust', action='store_true',
        help='allow full unpickling of CLIP (can run arbitrary code: only '
        'for files whose origin you trust)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    # Every task's classes and templates are read first: a task folder
    # that does not fit the layout fails before the model is loaded.
    prompts = {
        task: ([name for _, name in read_class_names(
            Path(args.data_root) / task)],
               read_templates(Path(args.data_root) / task, task))
        for task in args.tasks
    }
    tokenizer = load_clip_tokenizer(args.tokenizer)
    encoder, logit_scale = read_clip_text_model(
        args.clip, args.text_heads, args.activation, args.trust)

    def encode(texts):
        return encoder(tokenize(tokenizer, texts, encoder.context_length))

    out_dir = Path(args.out_dir)
    for task, (class_names, templates) in prompts.items():
        weight = zero_shot_weights(encode, class_names, templates,
                                   logit_scale)
        path = out_dir / f'{task}.safetensors'
        path.parent.mkdir(parents=True, exist_ok=True)
        save_weights(path, {HEAD_WEIGHT: weight},
                     dict(task=task, classes=class_names,
                          templates=list(templates),
                          clip=str(args.clip)))
        print(f'{task}: {len(class_names)} classes x {weight.shape[1]} '
              f'-> {path}', flush=True)


if __name__ == '__main__':
    main()
