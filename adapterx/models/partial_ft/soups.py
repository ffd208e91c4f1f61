"""Model soups of fine-tuning runs, partial ones included.

A soup averages K checkpoints fine-tuned from the same pretrained weights
``theta_pre``: ``theta_pre + (1/K) sum_k (theta_k - theta_pre)``. A
partial run's frozen units are still ``theta_pre``, so they contribute a
zero delta; a trainable-only file leaves them out and they are filled in
from ``theta_pre`` (:func:`ingredient_states`). The average is computed as
the mean of the completed checkpoints (the same value) in float64, so a soup
of identical checkpoints is that checkpoint exactly.

Greedy soup (model soups, Wortsman et al. 2022): rank the ingredients by
their score on a held-out split, start from the best one and add each next
one if the soup's score does not fall (a tie keeps it, as the paper's
``>=``); it starts at its best ingredient and accepts no loss, so it never
ends below it.

Per-unit mean soup (:func:`unit_mean_soup`), for partial runs that trained
different units: each tensor is ``theta_pre`` plus the mean delta of the
ingredients that changed it. A uniform soup of an attention-only and an
FFN-only run halves both deltas (each run adds a zero delta where it did not
train); this soup keeps each, and averages where runs overlap.

The score must come from data none of the ingredients trained on
(:func:`check_held_out`): VTAB-1k's ``val200`` is inside ``train800val200``,
the training split of the final runs.

Refused before any averaging (:func:`check_ingredients`):

- another label space: a tensor whose shape differs from the model's (the
  head of another class count), or training classes (runner and
  trainable-only checkpoints record ``meta['dataset_meta']['classes']``)
  that differ between ingredients or from the classes of the data the soup
  is scored on;
- other pretrained weights: runner and trainable-only checkpoints record
  their config, whose ``model.backbone.init_cfg`` names the pretrained file
  the run started from; it must be the soup config's file (the same path,
  or a file with identical tensors). Bare state dicts (and trainable-only
  files written before they recorded it) have no config: they are taken to
  fine-tune the soup config's pretrained weights.
"""
import os.path as osp
from dataclasses import dataclass
from itertools import zip_longest
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import torch
from torch import Tensor

from adapterx.checkpoint.comparison import (CheckpointWeights,
                                            complete_state,
                                            load_checkpoint_weights)
from adapterx.checkpoint.state_dicts import average_state_dicts
from adapterx.registry import DATASETS
from adapterx.utils.stored_config import read_stored_config

StateDict = Mapping[str, Tensor]


def pretrained_checkpoint_of(cfg) -> Optional[str]:
    """The file a config's backbone is initialised from
    (``model.backbone.init_cfg`` of type ``Pretrained``), or None."""
    init_cfg = cfg.get('model', {}).get('backbone', {}).get('init_cfg')
    for entry in init_cfg if isinstance(init_cfg, list) else [init_cfg]:
        if entry and entry.get('type') == 'Pretrained':
            return entry.get('checkpoint')
    return None


def same_weights_file(first: str, second: str, trust: bool = False) -> bool:
    """Whether two paths name the same pretrained weights: the same path, or
    two files with the same tensors."""
    if osp.normpath(first) == osp.normpath(second):
        return True
    if not (osp.isfile(first) and osp.isfile(second)):
        return False
    states = [
        load_checkpoint_weights(path, trust=trust).state_dict
        for path in (first, second)
    ]
    return states[0].keys() == states[1].keys() and all(
        torch.equal(value, states[1][key])
        for key, value in states[0].items())


def check_ingredients(ingredients: Sequence[CheckpointWeights],
                      pretrained: str,
                      trust: bool = False,
                      classes: Optional[Sequence[str]] = None) -> None:
    """Refuse ingredients of another label space or other pretrained
    weights (see the module docstring); each message names the file.

    Args:
        ingredients: The loaded checkpoints.
        pretrained (str): The soup config's pretrained weights file.
        trust (bool): Allow full unpickling when comparing weight files.
        classes (Sequence[str], optional): The classes of the data the soup
            is scored on; every ingredient that records its classes must
            have these.
    """
    _check_label_space(ingredients, classes)
    _check_pretrained_origin(ingredients, pretrained, trust)


def _check_label_space(ingredients, classes=None) -> None:
    recorded = [(weights.path, list(weights.meta['dataset_meta']['classes']))
                for weights in ingredients
                if 'classes' in weights.meta.get('dataset_meta', {})]
    if classes is not None:
        reference = ("the soup config's data", list(classes))
    elif recorded:
        reference = recorded[0]
    else:
        return
    for path, theirs in recorded:
        if theirs != reference[1]:
            index, (their_class, other_class) = next(
                (index, pair) for index, pair in enumerate(
                    zip_longest(theirs, reference[1])) if pair[0] != pair[1])
            raise ValueError(
                f'{path} and {reference[0]} have different classes '
                f'({len(theirs)} vs {len(reference[1])}; the first '
                f'difference is class {index}: {their_class!r} vs '
                f'{other_class!r}): a soup needs ingredients of one label '
                'space, the one it is scored on')


def _check_pretrained_origin(ingredients, pretrained, trust) -> None:
    for weights in ingredients:
        if 'cfg' not in weights.meta:
            continue
        # Read as data: executing the stored text would run any code in it.
        theirs = pretrained_checkpoint_of(
            read_stored_config(weights.meta['cfg'], weights.path, ['model']))
        if theirs is None:
            raise ValueError(
                f'{weights.path} was not trained from pretrained weights '
                '(its config has no model.backbone.init_cfg of type '
                f"'Pretrained'); the soup's start from {pretrained}")
        if not same_weights_file(theirs, pretrained, trust=trust):
            raise ValueError(
                f'{weights.path} was fine-tuned from {theirs}, not from the '
                f"soup config's pretrained weights {pretrained}: a soup "
                'averages runs from the same pretrained weights')


# Dataset settings that do not decide which samples a dataset holds.
NON_SAMPLE_SETTINGS = ('pipeline', 'test_mode', 'lazy_init', 'serialize_data',
                       'max_refetch', 'image_check', '_scope_')
# Settings that name a dataset's samples in the error messages.
DESCRIBED_SETTINGS = ('task', 'split', 'ann_file', 'data_root')


def _dataset_leaves(dataset: Mapping) -> List[Mapping]:
    """The datasets a dataset config reads: the ones a wrapper
    (``ConcatDataset``'s ``datasets``, ``RepeatDataset``'s ``dataset``)
    holds, or the config itself."""
    if 'datasets' in dataset:
        return [leaf for inner in dataset['datasets']
                for leaf in _dataset_leaves(inner)]
    if isinstance(dataset.get('dataset'), Mapping):
        return _dataset_leaves(dataset['dataset'])
    return [dataset]


def _plain(value):
    if isinstance(value, Mapping):
        return {key: _plain(inner) for key, inner in value.items()}
    if isinstance(value, (list, tuple)):
        return tuple(_plain(inner) for inner in value)
    return value


def _dataset_class(dataset: Mapping):
    dataset_type = dataset.get('type')
    if isinstance(dataset_type, str):
        return DATASETS.get(dataset_type)
    return dataset_type


def _sample_settings(dataset: Mapping, ignored) -> dict:
    settings = {
        key: _plain(value)
        for key, value in dataset.items()
        if key not in NON_SAMPLE_SETTINGS and key not in ignored
    }
    settings['type'] = _dataset_class(dataset) or dataset.get('type')
    if isinstance(settings.get('data_root'), str):
        settings['data_root'] = osp.abspath(settings['data_root'])
    return settings


def _leaf_holds(training: Mapping, scored: Mapping) -> bool:
    split_contains = getattr(_dataset_class(training), 'split_contains',
                             None)
    if split_contains is None:
        return _sample_settings(training, ()) == _sample_settings(scored, ())
    ignored = ('split', )
    return (_sample_settings(training, ignored) == _sample_settings(
        scored, ignored) and split_contains(training.get('split'),
                                            scored.get('split')))


def dataset_holds(training: Mapping, scored: Mapping) -> bool:
    """Whether the dataset config ``training`` holds every sample of the
    dataset config ``scored``.

    Datasets whose class defines ``split_contains(split, other)`` (VTAB-1k:
    ``train800val200`` holds ``val200``) hold another split of the same
    data; any other dataset holds only an identical one (the same settings
    but for the pipeline and other settings that read the same samples).
    A wrapper (``ConcatDataset``, ``RepeatDataset``) holds what its
    datasets hold.
    """
    return any(
        _leaf_holds(train_leaf, scored_leaf)
        for train_leaf in _dataset_leaves(training)
        for scored_leaf in _dataset_leaves(scored))


def _describe_dataset(dataset: Mapping) -> str:
    leaves = _dataset_leaves(dataset)
    return ' + '.join(
        f"{leaf.get('type')}("
        + ', '.join(f'{key}={leaf[key]!r}'
                    for key in DESCRIBED_SETTINGS if key in leaf) + ')'
        for leaf in leaves)


def _training_dataset_of(weights: CheckpointWeights,
                        default: Mapping) -> Mapping:
    """The training dataset config a checkpoint records (its stored
    config's ``train_dataloader.dataset``, read as data), or ``default``
    for a checkpoint that records none."""
    if 'cfg' not in weights.meta:
        return default
    stored = read_stored_config(weights.meta['cfg'], weights.path,
                                ['train_dataloader'])
    return stored.get('train_dataloader', {}).get('dataset', default)


def check_held_out(ingredients: Sequence[CheckpointWeights],
                   scored: Mapping, training: Mapping,
                   scored_name: str) -> None:
    """Refuse to score a soup on data an ingredient trained on.

    Args:
        ingredients: The loaded checkpoints.
        scored (Mapping): The dataset config the soup is scored on.
        training (Mapping): The soup config's training dataset config, taken
            for the ingredients that record no config of their own.
        scored_name (str): How the user chose ``scored``, for the message
            (``'--split val'``).

    Raises:
        ValueError: ``scored`` is inside an ingredient's training data (see
            :func:`dataset_holds`); the message names both.
    """
    for weights in ingredients:
        trained_on = _training_dataset_of(weights, training)
        if dataset_holds(trained_on, scored):
            raise ValueError(
                f'{scored_name} scores on {_describe_dataset(scored)}, '
                f'which is inside the training data of {weights.path} '
                f'({_describe_dataset(trained_on)}): a score on training '
                'data measures fit, and a greedy soup would pick the runs '
                'that fit best. Score on held-out data: train the '
                'ingredients on a split that leaves it out (VTAB-1k: '
                "train800, with --cfg-options train_dataloader.dataset."
                "split=train800, then score on val200), or score on "
                'another split.')


def ingredient_states(ingredients: Sequence[CheckpointWeights],
                      reference: StateDict) -> List[Dict[str, Tensor]]:
    """Every ingredient as a full state dict of the model: a trainable-only
    file's missing tensors are the reference's (zero delta).

    Raises:
        ValueError: A file holds tensors the model does not have, lacks some
            (and is not trainable-only), or has other shapes.
    """
    states = []
    for weights in ingredients:
        unexpected = [
            key for key in weights.state_dict if key not in reference
        ]
        if unexpected:
            raise ValueError(
                f'{weights.path} holds tensors the model does not have '
                f'(made for another model?): {unexpected[:5]}')
        states.append(complete_state(weights, reference, reference.keys()))
    return states


def uniform_soup(ingredients: Sequence[CheckpointWeights],
                 reference: StateDict) -> Dict[str, Tensor]:
    """``reference + mean(delta_k)`` over the ingredients, the deltas of a
    trainable-only file's missing tensors being zero."""
    return average_state_dicts(ingredient_states(ingredients, reference))


def unit_mean_soup(ingredients: Sequence[CheckpointWeights],
                   reference: StateDict) -> Dict[str, Tensor]:
    """Each tensor ``reference + mean(delta_k)`` over the ingredients ``k``
    that changed it (``theta_k != reference`` anywhere), ``reference``
    where none did: runs that trained disjoint units each keep their
    delta, runs that trained the same tensor share it."""
    states = ingredient_states(ingredients, reference)
    soup = {}
    for key, pretrained in reference.items():
        changed = [{key: state[key]} for state in states
                   if not torch.equal(state[key], pretrained)]
        if changed:
            soup[key] = average_state_dicts(changed,
                                            like={key: pretrained})[key]
        else:
            soup[key] = pretrained.clone()
    return soup


@dataclass
class GreedySoup:
    """The result of :func:`greedy_soup`.

    Attributes:
        state_dict: The soup.
        chosen (list[str]): Ingredients in the soup, in the order added.
        scores (dict[str, float]): Each ingredient's own score.
        trials (list[tuple[str, float, bool]]): Each ingredient tried after
            the first, the score of the soup with it, and whether it stayed.
        score (float): The soup's score.
    """
    state_dict: Dict[str, Tensor]
    chosen: List[str]
    scores: Dict[str, float]
    trials: List[Tuple[str, float, bool]]
    score: float


def greedy_soup(states: Mapping[str, StateDict],
                evaluate: Callable[[StateDict], float]) -> GreedySoup:
    """Greedy soup of full state dicts (by name) under a held-out score
    ``evaluate`` (higher is better): an ingredient that leaves the score
    as it is stays."""
    scores = {name: evaluate(state) for name, state in states.items()}
    ranked = sorted(states, key=lambda name: -scores[name])
    chosen = ranked[:1]
    soup, best = average_state_dicts([states[ranked[0]]]), scores[ranked[0]]
    trials = []
    for name in ranked[1:]:
        candidate = average_state_dicts(
            [states[kept] for kept in chosen + [name]])
        score = evaluate(candidate)
        kept = score >= best
        trials.append((name, score, kept))
        if kept:
            chosen.append(name)
            soup, best = candidate, score
    return GreedySoup(soup, chosen, scores, trials, best)
