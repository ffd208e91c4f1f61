"""Uniform, greedy or per-unit mean soup of fine-tuned checkpoints (full or
partial).

    python tools/model_soups.py CONFIG CKPT CKPT [CKPT ...]
        --out SOUP.safetensors
        [--mode {uniform,greedy,unit_mean}] [--split {val,test}]
        [--metric accuracy/top1] [--work-dir DIR] [--trust-checkpoint]
        [--cfg-options k=v ...] [--verbose]

CONFIG is the task config the checkpoints were trained with: it gives the
model, the pretrained weights every checkpoint must have started from
(``model.backbone.init_cfg``) and the data. Each CKPT is a runner checkpoint
(``epoch_N.pth``) or a trainable-only one
(``trainable_epoch_N.safetensors``, or ``.pth`` from older versions, whose
frozen tensors are the pretrained ones: zero delta).

- ``uniform``: the pretrained weights plus the mean of the K deltas.
- ``greedy``: ingredients ranked by their ``--metric`` on ``--split`` (the
  config's ``val`` or ``test`` loader and evaluator), best first; each next
  one joins unless the soup's score falls (a tie keeps it).
- ``unit_mean``: for partial runs that trained different units, each tensor
  is the pretrained one plus the mean delta of the ingredients that changed
  it (a uniform soup halves the delta of a unit only one run trained).

``--split`` must be held out from every ingredient's training data (read
from the config each checkpoint records, CONFIG's for one that records
none): VTAB-1k's ``val200`` is inside ``train800val200``, so soups of
VTAB-1k runs are made of runs trained on ``train800`` and scored on
``val200``. A split inside the training data is refused, naming both.

A progress bar counts the scorings (all of them: ``--verbose`` shows
mmengine's log of each on the console too), then the scores are printed
and the soup is written to
``--out``, a safetensors file (no pickle) that ``tools/test.py CONFIG
SOUP.safetensors`` evaluates; its recipe and scores are in the JSON
metadata under ``adapterx_soup``. Checkpoints of another
label space or from other pretrained weights are refused, naming the file
(see ``adapterx/models/partial_ft/soups.py``).
"""
import argparse

from mmengine.config import Config

from adapterx.checkpoint.comparison import load_checkpoint_weights
from adapterx.checkpoint.io import check_safetensors_name, save_weights
from adapterx.models.partial_ft import (check_held_out, check_ingredients,
                                        greedy_soup, ingredient_states,
                                        pretrained_checkpoint_of,
                                        uniform_soup, unit_mean_soup)
from adapterx.utils import register_all_modules
from adapterx.utils.console import progress_bar, quiet_runner
from adapterx.utils.cpu_threads import configure_cpu_threads_without_gpu
from adapterx.utils.tool_args import (add_common_arguments,
                                      add_verbose_argument,
                                      apply_common_arguments, build_runner,
                                      parse_common, tool_description)


def parse_args():
    parser = argparse.ArgumentParser(description=tool_description(__doc__))
    parser.add_argument('config', help='the task config of the checkpoints')
    parser.add_argument(
        'checkpoints', nargs='+', help='fine-tuned checkpoints')
    parser.add_argument('--out', required=True, help='output .safetensors')
    parser.add_argument(
        '--mode', choices=['uniform', 'greedy', 'unit_mean'],
        default='greedy',
        help='uniform: the mean of all deltas; greedy (default): '
        'ingredients join best first while the score does not fall; '
        'unit_mean: each tensor averages the deltas of the runs that '
        'changed it')
    parser.add_argument(
        '--split',
        choices=['val', 'test'],
        default='val',
        help="the split (the config's loader and evaluator) that scores "
        "the ingredients and the soup; held out from the ingredients' "
        'training data')
    parser.add_argument(
        '--metric', default='accuracy/top1', help='the score (higher wins)')
    add_common_arguments(parser, 'the checkpoints and pretrained weights')
    add_verbose_argument(parser)
    return parse_common(parser)


def scorer(runner, split, metric, done):
    """Score a state dict with the runner's ``split`` loop; ``done()`` is
    called after each scoring."""

    def evaluate(state_dict) -> float:
        runner.model.load_state_dict(state_dict)
        metrics = getattr(runner, split)()
        if metric not in metrics:
            raise KeyError(f'--metric {metric!r} is not among the {split} '
                           f'metrics {sorted(metrics)}')
        done()
        return float(metrics[metric])

    return evaluate


def main():
    args = parse_args()
    # Before any scoring, rather than when writing.
    check_safetensors_name(args.out, "the soup's weights (--out)")
    duplicated = sorted({path for path in args.checkpoints
                         if args.checkpoints.count(path) > 1})
    if duplicated:
        raise ValueError(f'Checkpoint(s) given more than once: {duplicated}')
    configure_cpu_threads_without_gpu()
    register_all_modules(init_default_scope=False)
    cfg = Config.fromfile(args.config)
    apply_common_arguments(cfg, args)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    quiet_runner(cfg, args.verbose)
    pretrained = pretrained_checkpoint_of(cfg)
    if pretrained is None:
        raise ValueError(
            f'{args.config} names no pretrained weights (model.backbone.'
            "init_cfg of type 'Pretrained'): a soup averages the deltas of "
            'runs from the same pretrained weights')
    trust = args.trust_checkpoint
    ingredients = [
        load_checkpoint_weights(path, trust=trust) for path in args.checkpoints
    ]
    check_held_out(ingredients, cfg[f'{args.split}_dataloader']['dataset'],
                   cfg.train_dataloader.dataset, f'--split {args.split}')
    runner = build_runner(cfg)
    split_data = getattr(runner, f'{args.split}_dataloader').dataset
    check_ingredients(ingredients, pretrained, trust=trust,
                      classes=split_data.metainfo.get('classes'))
    runner.model.init_weights()
    reference = {
        key: value.detach().clone()
        for key, value in runner.model.state_dict().items()
    }
    # Greedy: each ingredient alone, then each but the best joining.
    scorings = 2 * len(ingredients) - 1 if args.mode == 'greedy' else 1
    with progress_bar(disable=args.verbose) as progress:
        bar = progress.add_task(
            f'{args.mode} soup, scoring on {args.split}', total=scorings)
        evaluate = scorer(runner, args.split, args.metric,
                          done=lambda: progress.advance(bar))
        if args.mode == 'greedy':
            states = dict(zip(args.checkpoints,
                              ingredient_states(ingredients, reference)))
            result = greedy_soup(states, evaluate)
            soup, chosen = result.state_dict, result.chosen
            score, scores, trials = result.score, result.scores, result.trials
        else:
            recipe = uniform_soup if args.mode == 'uniform' else \
                unit_mean_soup
            soup = recipe(ingredients, reference)
            chosen, scores, trials = args.checkpoints, {}, []
            score = evaluate(soup)

    summary = dict(
        mode=args.mode, split=args.split, metric=args.metric,
        pretrained=pretrained, ingredients=args.checkpoints, chosen=chosen,
        scores=scores, score=score)
    recorded = [weights.meta for weights in ingredients
                if 'dataset_meta' in weights.meta]
    meta = dict(adapterx_soup=summary, cfg=cfg.pretty_text)
    if recorded:
        meta['dataset_meta'] = recorded[0]['dataset_meta']
    save_weights(args.out, soup, meta)

    for path, own_score in scores.items():
        print(f'ingredient {path}: {args.metric} {own_score:.4f}')
    for path, trial_score, kept in trials:
        print(f'with {path}: {trial_score:.4f} '
              f'({"kept" if kept else "left out"})')
    print(f'{args.mode} soup of {len(chosen)}: {chosen}')
    print(f'soup {args.metric} on {args.split}: {score:.4f}')
    print(f'Soup written to {args.out}')


if __name__ == '__main__':
    main()
