"""Pretrain a demo backbone from scratch and save it.

    .venv/bin/python tools/demo/pretrain_demo_backbone.py {digits,points}
        [--work-dir DIR] [--out FILE]
    .venv/bin/python tools/demo/pretrain_demo_backbone.py fractal
        [--device {cpu,cuda}] [--time-budget-s S | --steps N] ...
    .venv/bin/python tools/demo/pretrain_demo_backbone.py plot
        [--curve JSON] [--png FILE]

``digits``: the small ViT, on SyntheticShapes images; wrote
tools/demo/vit_demo_shapes.pth (~2 minutes on 2 CPU cores), the demos'
first backbone, kept for comparison (the demos load the fractal one).
``points``: the small point transformer, on four of the eight
SyntheticPointClouds shapes; wrote tools/demo/point_demo_shapes.pth.
``fractal``: the same small ViT (configs/_base_/models/vit_demo.py),
pretrained by formula-driven supervised learning on FractalDB-style
categories rendered on the fly (adapterx/datasets/fractal_db.py), then
probed on scikit-learn's digits next to the shapes backbone and a random
one. Writes the backbone in fp16 as safetensors (with the command, steps,
classes, seed, torch version and device in its metadata) and the training
curve with the probe as JSON. ``plot`` draws that JSON.

Every weights file holds the backbone's tensors only, under the backbone's
own keys; the pretraining head is dropped, as with any pretrained backbone.
"""
import argparse
import json
import logging
import math
import os
import os.path as osp
import shlex
import sys
import time

import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.logging import MMLogger

from adapterx.datasets.fractal_db import (FractalRenderer,
                                          sample_fractal_categories)
from adapterx.registry import MODELS, RUNNERS
from adapterx.utils import register_all_modules
from adapterx.utils.cpu_threads import (configure_cpu_threads,
                                        configure_cpu_threads_without_gpu)
from adapterx.utils.results import current_commit, machine
from adapterx.utils.tool_args import tool_description

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
# demo -> (pretraining config, weights file)
PRETRAINING = {
    'digits': ('vit-demo_1xb64-12e_synthetic-shapes.py',
               'vit_demo_shapes.pth'),
    'points': ('point-demo_1xb32-10e_synthetic-points4.py',
               'point_demo_shapes.pth'),
}
VIT_DEMO_CONFIG = osp.join(REPO_ROOT, 'configs', '_base_', 'models',
                           'vit_demo.py')
SHAPES_WEIGHTS = osp.join(REPO_ROOT, 'tools', 'demo',
                          PRETRAINING['digits'][1])
FRACTAL_WEIGHTS = osp.join(REPO_ROOT, 'tools', 'demo',
                           'vit_demo_fractal.safetensors')
FRACTAL_CURVE = osp.join(REPO_ROOT, 'docs', 'demo',
                         'fractal_pretrain_curve.json')
# With a time budget the schedule's length is set from the speed of the
# steps between these two (the first ones pay for warm-up and allocation).
TIMING_FROM_STEP, CALIBRATION_STEPS = 5, 20
# Share of the measured remaining budget the plan fills: slack for steps
# that run slower than the calibration ones.
PLAN_MARGIN = 0.97
LABEL_SMOOTHING = 0.1
FINAL_LR_FRACTION = 0.01


def pretrain_with_config(args):
    config_name, weights_name = PRETRAINING[args.demo]
    configure_cpu_threads_without_gpu()
    register_all_modules(init_default_scope=False)
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', 'demo', config_name))
    cfg.work_dir = args.work_dir or f'work_dirs/{args.demo}_demo_pretrain'
    cfg.launcher = 'none'
    runner = RUNNERS.build(cfg)
    runner.train()
    out = args.out or osp.join(REPO_ROOT, 'tools', 'demo', weights_name)
    backbone = runner.model.backbone.state_dict()
    torch.save({key: value.clone() for key, value in backbone.items()}, out)
    print(f'Saved {len(backbone)} backbone tensors '
          f'({sum(v.numel() for v in backbone.values()):,} values) to {out}')


def build_demo_backbone(init_cfg):
    """The demo ViT exactly as configs/_base_/models/vit_demo.py defines it,
    initialised by ``init_cfg`` (None: random)."""
    backbone_cfg = Config.fromfile(VIT_DEMO_CONFIG).model.backbone
    backbone_cfg.init_cfg = init_cfg
    backbone = MODELS.build(backbone_cfg)
    backbone.init_weights()
    return backbone


class ClsTokenClassifier(torch.nn.Module):
    """The backbone with a linear head over its CLS token (the pretraining
    task's head; dropped when the backbone is saved)."""

    def __init__(self, backbone, num_classes):
        super().__init__()
        self.backbone = backbone
        self.head = torch.nn.Linear(backbone.embed_dims, num_classes)

    def forward(self, images):
        return self.head(self.backbone(images)[-1])


def to_model_input(images):
    """[0, 1] images to the range the demo configs' data preprocessor gives
    the backbone (mean and std 127.5 on 0-255 pixels)."""
    return images * 2 - 1


def learning_rate(step, peak, warmup, total):
    """Linear warm-up over ``warmup`` steps, then a cosine down to
    ``FINAL_LR_FRACTION`` of ``peak`` at step ``total``."""
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return peak * (FINAL_LR_FRACTION + (1 - FINAL_LR_FRACTION) * 0.5 *
                   (1 + math.cos(math.pi * progress)))


def weight_decay_groups(model, weight_decay):
    """AdamW groups: decay the weight matrices, not norms, biases and the
    position embedding and CLS token (decaying those only shrinks them)."""
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        exempt = param.ndim < 2 or name.endswith(('pos_embed', 'cls_token'))
        (no_decay if exempt else decay).append(param)
    return [dict(params=decay, weight_decay=weight_decay),
            dict(params=no_decay, weight_decay=0.0)]


def step_generator(device, seed, step):
    """Each step's instances from their own seed: the images of step ``n``
    do not depend on how fast earlier steps ran."""
    return torch.Generator(device=device).manual_seed(seed * 1_000_003 + step)


def synchronize(device):
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


class FractalPretraining:
    """The training loop of the ``fractal`` demo (see the module doc)."""

    def __init__(self, args, device):
        self.args = args
        self.device = device
        categories = sample_fractal_categories(args.num_classes, args.seed)
        self.renderer = FractalRenderer(categories, device,
                                        points=args.points)
        torch.manual_seed(args.seed)
        self.model = ClsTokenClassifier(build_demo_backbone(None),
                                        args.num_classes).to(device)
        self.optimizer = torch.optim.AdamW(
            weight_decay_groups(self.model, args.weight_decay), lr=args.lr)
        self.autocast = torch.autocast(
            device.type, dtype=torch.bfloat16, enabled=device.type == 'cuda')

    def render(self, step):
        generator = step_generator(self.device, self.args.seed, step)
        labels = torch.randint(self.args.num_classes,
                               (self.args.batch_size, ),
                               generator=generator, device=self.device)
        return self.renderer(labels, generator), labels

    def update(self, images, labels, lr):
        for group in self.optimizer.param_groups:
            group['lr'] = lr
        with self.autocast:
            logits = self.model(to_model_input(images))
        loss = F.cross_entropy(logits.float(), labels,
                               label_smoothing=LABEL_SMOOTHING)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.optimizer.step()
        correct = (logits.argmax(-1) == labels).sum()
        return loss.detach() * labels.shape[0], correct

    def warmup_steps(self, planned):
        return max(1, min(self.args.warmup_steps, planned // 10))

    def run(self):
        """Train; returns the curve (list of dicts) and the run's facts."""
        args, device = self.args, self.device
        planned = args.steps  # None until calibrated under a time budget
        warmup = self.warmup_steps(planned) if planned else args.warmup_steps
        log, facts = [], dict(stopped_by='steps')
        # Rendering and model step timed apart (with a sync between them)
        # on the calibration steps, past the first ones unless the run is
        # that short.
        first_timed = (0 if planned and planned <= CALIBRATION_STEPS else
                       TIMING_FROM_STEP)
        render_s = model_s = 0.0
        timed_steps = 0
        # Summed on the device and read every log_every steps: reading them
        # each step would make the CPU wait for the GPU.
        loss_sum = torch.zeros((), device=device)
        correct_sum = torch.zeros((), device=device, dtype=torch.long)
        interval = dict(images=0, next_progress=0.1)

        def record(step, lr):
            log.append(dict(
                step=step, images=step * args.batch_size, lr=round(lr, 7),
                seconds=round(time.perf_counter() - start, 2),
                loss=round(loss_sum.item() / interval['images'], 4),
                accuracy=round(
                    100 * correct_sum.item() / interval['images'], 2)))
            loss_sum.zero_()
            correct_sum.zero_()
            interval['images'] = 0
            # Until a time budget's plan is known, progress is by the clock.
            done = (step / planned if planned else
                    log[-1]['seconds'] / args.time_budget_s)
            if done >= interval['next_progress']:
                self.print_progress(log[-1], done, planned)
                interval['next_progress'] = math.floor(done * 10 + 1) / 10

        self.model.train()
        synchronize(device)
        start = time.perf_counter()
        step = 0
        while planned is None or step < planned:
            if (args.time_budget_s
                    and time.perf_counter() - start >= args.time_budget_s):
                facts['stopped_by'] = 'time budget'
                break
            calibrating = first_timed <= step < CALIBRATION_STEPS
            timed_steps += calibrating
            if step == TIMING_FROM_STEP:
                synchronize(device)
                timing_start = time.perf_counter()
            tick = time.perf_counter()
            images, labels = self.render(step)
            if calibrating:
                synchronize(device)
                render_s += time.perf_counter() - tick
                tick = time.perf_counter()
            lr = learning_rate(step, args.lr, warmup, planned or math.inf)
            loss, correct = self.update(images, labels, lr)
            if calibrating:
                synchronize(device)
                model_s += time.perf_counter() - tick
            loss_sum += loss
            correct_sum += correct
            interval['images'] += labels.shape[0]
            step += 1

            if planned is None and step == CALIBRATION_STEPS:
                now = time.perf_counter()
                per_step = (now - timing_start) / (step - TIMING_FROM_STEP)
                remaining = args.time_budget_s - (now - start)
                planned = step + max(0, int(PLAN_MARGIN * remaining
                                            / per_step))
                warmup = max(CALIBRATION_STEPS, self.warmup_steps(planned))
                facts['calibrated_step_s'] = round(per_step, 5)
                print(f'{per_step * 1e3:.1f} ms/step over steps '
                      f'{TIMING_FROM_STEP}-{step}: planning {planned} steps '
                      f'in {args.time_budget_s:g} s (warm-up {warmup})',
                      flush=True)
            if step % args.log_every == 0 or step == planned:
                record(step, lr)
        if interval['images']:
            record(step, lr)
        synchronize(device)
        seconds = time.perf_counter() - start
        timed = timed_steps * args.batch_size
        facts.update(
            steps=step, planned_steps=planned, warmup_steps=warmup,
            images_seen=step * args.batch_size,
            train_seconds=round(seconds, 1),
            images_per_s=round(step * args.batch_size / seconds, 1),
            calibration_render_images_per_s=round(timed / render_s, 1)
            if timed else None,
            calibration_model_images_per_s=round(timed / model_s, 1)
            if timed else None)
        return log, facts

    @staticmethod
    def print_progress(entry, done, planned):
        per_step = entry['seconds'] / entry['step']
        print(f"step {entry['step']}/{planned or '?'} "
              f"({1 / per_step:.2f} steps/s) loss {entry['loss']:.3f} "
              f"acc {entry['accuracy']:.1f}% lr {entry['lr']:.2e} "
              f"ETA {entry['seconds'] * max(0.0, 1 - done) / done:.0f} s",
              flush=True)


@torch.no_grad()
def cls_features(backbone, images, device, batch_size=512):
    backbone.to(device)
    backbone.eval()
    return torch.cat([
        backbone(to_model_input(images[i:i + batch_size].to(device)))[-1]
        .float().cpu() for i in range(0, len(images), batch_size)
    ])


def digits_arrays(split):
    """The digits demo's split (adapterx.datasets.SklearnDigits, 32x32 RGB)
    as ``[0, 1]`` images ``(N, 3, 32, 32)`` and labels."""
    from adapterx.datasets import SklearnDigits
    dataset = SklearnDigits(split=split, image_size=32)
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    images = torch.stack(
        [torch.from_numpy(info['img']).permute(2, 0, 1) for info in infos])
    labels = torch.tensor([info['gt_label'] for info in infos])
    return images.float() / 255, labels


def linear_probe_accuracy(backbone, digits, device):
    """Test accuracy (%) of a logistic regression on the frozen backbone's
    CLS features, fitted on the digits demo's train split."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    (train_x, train_y), (test_x, test_y) = digits['train'], digits['test']
    probe = make_pipeline(StandardScaler(),
                          LogisticRegression(max_iter=5000))
    probe.fit(cls_features(backbone, train_x, device).numpy(),
              train_y.numpy())
    return round(100 * probe.score(
        cls_features(backbone, test_x, device).numpy(), test_y.numpy()), 2)


def transfer_probe(weights_file, device, seed):
    """The probe for the weights just saved (read back through the strict
    Pretrained init, as a config would), the committed shapes backbone and
    a random initialisation."""
    digits = {split: digits_arrays(split) for split in ('train', 'test')}
    torch.manual_seed(seed)
    backbones = {
        'fractal': dict(type='Pretrained', checkpoint=weights_file),
        'shapes': dict(type='Pretrained', checkpoint=SHAPES_WEIGHTS),
        'random_init': None,
    }
    return {
        name: linear_probe_accuracy(build_demo_backbone(init_cfg), digits,
                                    device)
        for name, init_cfg in backbones.items()
    }


def save_backbone(backbone, path, metadata):
    from safetensors.torch import save_file
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    tensors = {key: value.detach().to('cpu', torch.float16).contiguous()
               for key, value in backbone.state_dict().items()}
    save_file(tensors, path,
              metadata={key: str(value) for key, value in metadata.items()})
    return tensors


def pretrain_fractal(args):
    if args.steps is None and args.time_budget_s is None:
        sys.exit('fractal: give --steps N or --time-budget-s S')
    if ((args.steps is not None and args.steps < 1)
            or (args.time_budget_s is not None and args.time_budget_s <= 0)):
        sys.exit(f'fractal: --steps ({args.steps}) and --time-budget-s '
                 f'({args.time_budget_s}) must be positive')
    if args.device == 'cuda' and not torch.cuda.is_available():
        sys.exit('fractal: --device cuda, but torch sees no CUDA device '
                 f'(torch {torch.__version__}); use --device cpu')
    device = torch.device(args.device)
    if device.type == 'cpu':
        print(f'CPU threads: {configure_cpu_threads()}')
    else:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    register_all_modules()
    # mmengine logs every parameter's initialisation at INFO: hundreds of
    # lines per backbone built here.
    MMLogger.get_instance('pretrain_demo_backbone').setLevel(logging.WARNING)
    device_name = (torch.cuda.get_device_name(device)
                   if device.type == 'cuda' else 'cpu')
    command = shlex.join(['python', osp.relpath(__file__, REPO_ROOT),
                          *args.argv])

    pretraining = FractalPretraining(args, device)
    log, facts = pretraining.run()
    print(f"Trained {facts['steps']} steps ({facts['images_seen']:,} images, "
          f"{facts['images_per_s']:,.0f} images/s; stopped by "
          f"{facts['stopped_by']})", flush=True)
    if facts['calibration_render_images_per_s']:
        print('Calibration steps, timed apart: rendering '
              f"{facts['calibration_render_images_per_s']:,.0f} images/s, "
              f"model step {facts['calibration_model_images_per_s']:,.0f} "
              'images/s', flush=True)

    metadata = dict(
        recipe='fractal', command=command, steps=facts['steps'],
        num_classes=args.num_classes, seed=args.seed,
        batch_size=args.batch_size, torch=torch.__version__,
        device=device_name)
    tensors = save_backbone(pretraining.model.backbone, args.out, metadata)
    print(f'Saved {len(tensors)} backbone tensors (fp16, '
          f'{osp.getsize(args.out) / 2**20:.2f} MiB) to {args.out}')

    probe = transfer_probe(args.out, device, args.seed)
    print('Linear probe on scikit-learn digits (test accuracy %): ' +
          ', '.join(f'{name} {value}' for name, value in probe.items()))
    curve = dict(
        metadata, settings={key: value for key, value in vars(args).items()
                            if key not in ('out', 'curve', 'func', 'argv')},
        **facts, log=log,
        transfer_probe=dict(
            task='scikit-learn digits, the digits demo split; logistic '
            'regression on standardised frozen CLS features',
            test_accuracy=probe),
        # As every results file: the code and the machine behind the curve.
        commit=current_commit(REPO_ROOT), machine=machine())
    os.makedirs(osp.dirname(osp.abspath(args.curve)), exist_ok=True)
    with open(args.curve, 'w') as file:
        json.dump(curve, file, indent=1)
    print(f'Wrote the curve to {args.curve}')


def plot_curve(args):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    with open(args.curve) as file:
        curve = json.load(file)
    steps = [entry['step'] for entry in curve['log']]
    figure, (loss_axis, accuracy_axis) = plt.subplots(
        1, 2, figsize=(8, 3.2), constrained_layout=True)
    loss_axis.plot(steps, [entry['loss'] for entry in curve['log']])
    loss_axis.set(xlabel='step', ylabel='training loss')
    accuracy_axis.plot(steps, [entry['accuracy'] for entry in curve['log']])
    accuracy_axis.set(xlabel='step', ylabel='training accuracy (%)',
                      ylim=(0, 100))
    probe = curve['transfer_probe']['test_accuracy']
    figure.suptitle(
        f"Demo ViT on {curve['num_classes']} fractal classes, "
        f"{curve['steps']} steps x {curve['batch_size']} ({curve['device']})"
        '\ndigits linear probe: ' +
        ', '.join(f'{name} {value:.1f}%' for name, value in probe.items()),
        fontsize=9)
    png = args.png or osp.splitext(args.curve)[0] + '.png'
    figure.savefig(png, dpi=100)
    print(f'Wrote {png}')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=tool_description(__doc__))
    demos = parser.add_subparsers(dest='demo', required=True)
    for demo in sorted(PRETRAINING):
        config, weights = PRETRAINING[demo]
        summary = (f'Pretrain the {demo} demo backbone with '
                   f'configs/demo/{config} and save it as {weights}.')
        config_demo = demos.add_parser(demo, help=summary,
                                       description=summary)
        config_demo.add_argument(
            '--work-dir', help='where the pretraining run writes its logs '
            f'(default: work_dirs/{demo}_demo_pretrain)')
        config_demo.add_argument('--out',
                                 help='defaults to the committed file')
        config_demo.set_defaults(func=pretrain_with_config)

    summary = ('Pretrain the demo ViT on FractalDB-style categories, then '
               'probe it on scikit-learn digits.')
    fractal = demos.add_parser('fractal', help=summary, description=summary)
    fractal.add_argument('--device', choices=('cpu', 'cuda'), default='cpu',
                         help='where to train')
    length = fractal.add_mutually_exclusive_group()
    length.add_argument('--time-budget-s', type=float,
                        help='train this many seconds (the schedule is set '
                        'from the speed of the first steps)')
    length.add_argument('--steps', type=int, help='train this many steps')
    fractal.add_argument('--batch-size', type=int, default=1024,
                         help='images per step')
    fractal.add_argument('--num-classes', type=int, default=1000,
                         help='fractal categories to tell apart')
    fractal.add_argument('--points', type=int, default=4096,
                         help='chaos-game points per image')
    fractal.add_argument('--lr', type=float, default=2e-3,
                         help='peak AdamW learning rate')
    fractal.add_argument('--weight-decay', type=float, default=0.05,
                         help="AdamW's weight decay (not on norms and "
                         'biases)')
    fractal.add_argument('--warmup-steps', type=int, default=150,
                         help='at most a tenth of the steps')
    fractal.add_argument('--seed', type=int, default=0,
                         help='fixes the categories and every batch')
    fractal.add_argument('--log-every', type=int, default=25,
                         help='steps per point of the curve')
    fractal.add_argument('--out', default=FRACTAL_WEIGHTS,
                         help='the backbone weights file (.safetensors)')
    fractal.add_argument('--curve', default=FRACTAL_CURVE,
                         help='the training curve and probe (JSON)')
    fractal.set_defaults(func=pretrain_fractal)

    summary = 'Draw the training curve of a fractal pretraining run.'
    plot = demos.add_parser('plot', help=summary, description=summary)
    plot.add_argument('--curve', default=FRACTAL_CURVE,
                      help="the fractal run's curve (JSON)")
    plot.add_argument('--png', help='defaults to the JSON path, .png')
    plot.set_defaults(func=plot_curve)
    return parser.parse_args(argv)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    args.argv = argv  # the command recorded with the weights
    args.func(args)


if __name__ == '__main__':
    main()
