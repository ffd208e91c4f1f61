"""FractalDB-style formula-driven images, rendered on the fly in torch.

Formula-driven supervised learning (FractalDB, Kataoka et al., ACCV 2020;
Nakashima et al., AAAI 2022) pretrains a ViT without natural images: each
class is an iterated function system (IFS), a few contractive affine maps
``x -> A x + b`` whose attractor is a fractal, and the images of a class
are renderings of that attractor with small variations.

Here a category has 2 to 4 maps. Each map's linear part is built from its
singular values, ``A = R(theta) diag(s1, +-s2) R(phi)`` with
``1 > s1 >= s2 > 0``, so every map contracts and the chaos game converges.
Two acceptance rules keep the categories that draw a figure:

* the spread rule: ``sum over maps of (s1 + 2 s2)`` must lie in
  ``[(5 + N) / 2, (6 + N) / 2]`` for ``N`` maps. Maps that shrink hard
  give a handful of dots, maps that barely shrink give a blob; the smaller
  singular value counts twice because a map that flattens to a line adds
  no area however long the line is.
* the coverage rule: the category's reference rendering, scaled to fill the
  canvas on its longer side, must light at least ``min_coverage`` of the
  pixels, which rejects what the spread rule lets through and still
  degenerates (maps sharing a fixed point, attractors that are lines).

Instances of a category jitter each map's linear part by a random factor
(as FractalDB does with its per-parameter weights), pick the maps with
probabilities proportional to their area, and are flipped, scaled, placed
and coloured at random. Everything after the category sampling runs batched
on the device of the labels: a batch of ``B`` images is ``B x chains``
independent chaos games iterated together, their points counted into a
``B x maps x S x S`` grid with one ``index_add_``; nothing is read back
to the CPU, so rendering never stalls the training step's queue.
"""
import math

import torch
import torch.nn.functional as F

# A chain starts on the attractor (a map's fixed point); these steps spread
# chains that started on the same fixed point apart before points count.
SPREAD_STEPS = 8
# Keeps every jittered map strictly contractive.
MAX_SINGULAR_VALUE = 0.98


def spread_band(num_maps):
    """The accepted ``sum(s1 + 2 s2)`` interval for ``num_maps`` maps."""
    return (5 + num_maps) / 2, (6 + num_maps) / 2


class FractalCategories:
    """The IFS of each class, padded to ``max_maps`` maps.

    Attributes:
        linear (Tensor): ``(K, M, 2, 2)`` linear parts (zeros for padding).
        translation (Tensor): ``(K, M, 2)``.
        num_maps (Tensor): ``(K,)`` maps each category really has.
    """

    def __init__(self, linear, translation, num_maps):
        self.linear = linear
        self.translation = translation
        self.num_maps = num_maps

    def __len__(self):
        return self.linear.shape[0]

    def to(self, device):
        return FractalCategories(self.linear.to(device),
                                 self.translation.to(device),
                                 self.num_maps.to(device))

    @property
    def map_mask(self):
        """``(K, M)`` True for the maps a category has."""
        slots = torch.arange(self.linear.shape[1], device=self.linear.device)
        return slots < self.num_maps[:, None]


def _rotation(angle):
    cos, sin = torch.cos(angle), torch.sin(angle)
    return torch.stack([torch.stack([cos, -sin], -1),
                        torch.stack([sin, cos], -1)], -2)


def _sample_systems(count, max_maps, min_maps, generator):
    """``count`` random IFS, before acceptance."""
    shape = (count, max_maps)
    singular = torch.rand(shape + (2, ), generator=generator)
    singular = singular.sort(-1, descending=True).values * MAX_SINGULAR_VALUE
    sign = torch.randint(0, 2, shape, generator=generator) * 2 - 1
    theta, phi = torch.rand(shape + (2, ), generator=generator).unbind(-1)
    scale = torch.diag_embed(
        torch.stack([singular[..., 0], singular[..., 1] * sign], -1))
    linear = (_rotation(theta * 2 * math.pi) @ scale
              @ _rotation(phi * 2 * math.pi))
    translation = torch.rand(shape + (2, ), generator=generator) * 2 - 1
    num_maps = torch.randint(min_maps, max_maps + 1, (count, ),
                             generator=generator)
    mask = torch.arange(max_maps) < num_maps[:, None]
    linear = linear * mask[..., None, None]
    translation = translation * mask[..., None]
    return FractalCategories(linear, translation, num_maps)


def spread(linear, map_mask):
    """``sum over maps of (s1 + 2 s2)`` of each system ``(K,)``."""
    singular = torch.linalg.svdvals(linear)
    per_map = singular[..., 0] + 2 * singular[..., 1]
    return (per_map * map_mask).sum(-1)


def map_probabilities(linear, map_mask):
    """Chaos-game probabilities ``(..., M)``: proportional to each map's
    area (``|det A|``) so the attractor is covered evenly, with a floor so
    that a map flattened to a line is still drawn."""
    determinant = (linear[..., 0, 0] * linear[..., 1, 1]
                   - linear[..., 0, 1] * linear[..., 1, 0])
    area = determinant.abs() + 0.02
    area = area * map_mask
    return area / area.sum(-1, keepdim=True)


def chaos_game(linear, translation, probability, num_chains, num_steps,
               generator):
    """Points on the attractors of a batch of IFS.

    Args:
        linear (Tensor): ``(B, M, 2, 2)``.
        translation (Tensor): ``(B, M, 2)``.
        probability (Tensor): ``(B, M)``, rows summing to one.
        num_chains (int): Independent games per system.
        num_steps (int): Points each game contributes.
        generator (torch.Generator): On the tensors' device.

    Returns:
        tuple[Tensor, Tensor]: ``(B, chains * steps, 2)`` points and
        ``(B, chains * steps)`` the map that produced each.
    """
    batch = linear.shape[0]
    total_steps = SPREAD_STEPS + num_steps
    # Inverse-CDF sampling rather than torch.multinomial or bincount below,
    # which read a value back from the GPU and stall the CPU every batch.
    # Scaling the uniforms by the total keeps them below the last real map's
    # cumulative value, so the padding maps after it are never chosen.
    cumulative = probability.cumsum(-1)
    uniform = torch.rand(batch, num_chains * (total_steps + 1),
                         generator=generator, device=probability.device)
    choice = torch.searchsorted(cumulative, uniform * cumulative[:, -1:])
    choice = choice.view(batch, num_chains, total_steps + 1)
    # A row per map: a00 a01 a10 a11 b0 b1.
    params = torch.cat([linear.flatten(-2), translation], -1)
    rows = torch.arange(batch, device=linear.device)[:, None]

    # Fixed point of x -> A x + b: (I - A) x = b, solved in closed form.
    start = params[rows, choice[..., 0]]
    a00, a01, a10, a11, b0, b1 = start.unbind(-1)
    det = (1 - a00) * (1 - a11) - a01 * a10
    x = ((1 - a11) * b0 + a01 * b1) / det
    y = (a10 * b0 + (1 - a00) * b1) / det

    points, maps = [], []
    for step in range(1, total_steps + 1):
        a00, a01, a10, a11, b0, b1 = params[rows, choice[..., step]].unbind(-1)
        x, y = a00 * x + a01 * y + b0, a10 * x + a11 * y + b1
        if step > SPREAD_STEPS:
            points.append(torch.stack([x, y], -1))
            maps.append(choice[..., step])
    points = torch.stack(points, 2).view(batch, -1, 2)
    maps = torch.stack(maps, 2).view(batch, -1)
    return points, maps


def count_points(points, maps, num_maps, size, flip=None, scale=None,
                 offset=None):
    """Hits per pixel and map ``(B, M, size, size)``.

    Each system's points are centred on their bounding box, whose longer
    side is scaled to ``scale`` (a fraction of the canvas, default 1) and
    shifted by ``offset`` (fractions of the canvas); ``flip`` (``(B, 2)``
    of +-1) mirrors the axes.
    """
    batch = points.shape[0]
    low = points.amin(1, keepdim=True)
    high = points.amax(1, keepdim=True)
    centre = (low + high) / 2
    extent = (high - low).amax(-1, keepdim=True).clamp_min(1e-6)
    unit = (points - centre) / extent  # in [-0.5, 0.5] on the longer side
    if flip is not None:
        unit = unit * flip[:, None]
    if scale is not None:
        unit = unit * scale[:, None, None]
    if offset is not None:
        unit = unit + offset[:, None]
    pixel = ((unit + 0.5) * size).long().clamp(0, size - 1)
    rows = torch.arange(batch, device=points.device)[:, None]
    index = ((rows * num_maps + maps) * size + pixel[..., 1]) * size \
        + pixel[..., 0]
    index = index.flatten()
    # Whole-number float sums are exact, so the order of the additions (on
    # a GPU, not fixed) does not change the counts.
    counts = torch.zeros(batch * num_maps * size * size,
                         device=points.device).index_add_(
                             0, index, torch.ones_like(index,
                                                       dtype=torch.float32))
    return counts.view(batch, num_maps, size, size)


def coverage(categories, size=32, num_chains=128, num_steps=32,
             generator=None):
    """Share of the pixels the reference rendering of each category lights
    (attractor scaled to fill the canvas on its longer side) ``(K,)``."""
    mask = categories.map_mask
    points, maps = chaos_game(
        categories.linear, categories.translation,
        map_probabilities(categories.linear, mask), num_chains, num_steps,
        generator)
    counts = count_points(points, maps, mask.shape[1], size).sum(1)
    return (counts > 0).float().mean((-1, -2))


def rejection_reason(categories, min_coverage=0.12, generator=None):
    """Why each IFS is not a category, or None where it is one.

    Returns:
        list[str | None]: One entry per system of ``categories``.
    """
    mask = categories.map_mask
    singular = torch.linalg.svdvals(categories.linear)
    largest = (singular[..., 0] * mask).amax(-1)
    low, high = spread_band(categories.num_maps.float())
    spreads = spread(categories.linear, mask)
    reasons = [None] * len(categories)
    for index in range(len(categories)):
        if largest[index] >= 1:
            reasons[index] = (
                f'a map does not contract (largest singular value '
                f'{largest[index]:.3f} >= 1): the chaos game diverges')
        elif not low[index] <= spreads[index] <= high[index]:
            reasons[index] = (
                f'spread sum(s1 + 2 s2) = {spreads[index]:.3f} is outside '
                f'[{low[index]:.2f}, {high[index]:.2f}] for '
                f'{int(categories.num_maps[index])} maps')
    candidates = [i for i, reason in enumerate(reasons) if reason is None]
    if candidates:
        kept = FractalCategories(categories.linear[candidates],
                                 categories.translation[candidates],
                                 categories.num_maps[candidates])
        covered = coverage(kept, generator=generator)
        for index, share in zip(candidates, covered.tolist()):
            if share < min_coverage:
                reasons[index] = (
                    f'its rendering covers {share:.3f} of the canvas, under '
                    f'the {min_coverage} a figure needs')
    return reasons


def sample_fractal_categories(num_classes, seed=0, min_maps=2, max_maps=4,
                              min_coverage=0.12):
    """Sample ``num_classes`` accepted IFS, deterministically from ``seed``
    (on the CPU, so every device trains on the same categories)."""
    if not 1 <= min_maps <= max_maps:
        raise ValueError(f'need 1 <= min_maps <= max_maps, got {min_maps} '
                         f'and {max_maps}')
    generator = torch.Generator().manual_seed(seed)
    accepted = []
    found = 0
    while found < num_classes:
        candidates = _sample_systems(max(64, 4 * num_classes), max_maps,
                                     min_maps, generator)
        reasons = rejection_reason(candidates, min_coverage, generator)
        keep = [i for i, reason in enumerate(reasons) if reason is None]
        keep = keep[:num_classes - found]
        accepted.append(FractalCategories(candidates.linear[keep],
                                          candidates.translation[keep],
                                          candidates.num_maps[keep]))
        found += len(keep)
    return FractalCategories(
        torch.cat([c.linear for c in accepted]),
        torch.cat([c.translation for c in accepted]),
        torch.cat([c.num_maps for c in accepted]))


class FractalRenderer:
    """Render instances of FractalDB-style categories, a batch at a time.

    Args:
        categories (FractalCategories): Moved to ``device``.
        device (str | torch.device): Where the images are made.
        image_size (int): Side of the images.
        points (int): Chaos-game points per image.
        supersample (int): Render at ``supersample`` times the size and
            average down (smooth edges at 32 px).
        weight_jitter (float): Each map's linear part is scaled by a factor
            in ``[1 - weight_jitter, 1 + weight_jitter]``.
        scale_range (tuple[float, float]): Longer side of the figure, as a
            fraction of the image.
        grey_probability (float): Share of grey images; the others give each
            map a random colour.
        flip (bool): Mirror the axes at random.
    """

    def __init__(self, categories, device='cpu', image_size=32, points=4096,
                 supersample=2, weight_jitter=0.1, scale_range=(0.7, 1.0),
                 grey_probability=0.3, flip=True, num_chains=256):
        if points % num_chains:
            raise ValueError(f'points ({points}) must be a multiple of '
                             f'num_chains ({num_chains})')
        self.categories = categories.to(device)
        self.device = torch.device(device)
        # On the CPU, once: the chaos game itself needs no linalg kernels.
        self.largest_singular = torch.linalg.svdvals(
            categories.linear)[..., 0].to(device)
        self.image_size = image_size
        self.num_chains = num_chains
        self.num_steps = points // num_chains
        self.supersample = supersample
        self.weight_jitter = weight_jitter
        self.scale_range = scale_range
        self.grey_probability = grey_probability
        self.flip = flip

    @property
    def num_classes(self):
        return len(self.categories)

    def __call__(self, labels, generator):
        """Images ``(B, 3, S, S)`` in ``[0, 1]`` (float32) of ``labels``."""
        labels = labels.to(self.device)
        batch = labels.shape[0]

        def uniform(*shape, low=0.0, high=1.0):
            return torch.rand(*shape, generator=generator,
                              device=self.device) * (high - low) + low

        mask = self.categories.map_mask[labels]
        jitter = uniform(*mask.shape, low=1 - self.weight_jitter,
                         high=1 + self.weight_jitter)
        ceiling = MAX_SINGULAR_VALUE / self.largest_singular[labels].clamp(
            min=1e-6)
        jitter = torch.minimum(jitter, ceiling)
        linear = self.categories.linear[labels] * jitter[..., None, None]
        translation = self.categories.translation[labels]
        points, maps = chaos_game(linear, translation,
                                  map_probabilities(linear, mask),
                                  self.num_chains, self.num_steps, generator)

        scale = uniform(batch, low=self.scale_range[0],
                        high=self.scale_range[1])
        offset = (uniform(batch, 2) - 0.5) * (1 - scale[:, None])
        flip = None
        if self.flip:
            flip = (uniform(batch, 2) < 0.5).float() * 2 - 1
        size = self.image_size * self.supersample
        counts = count_points(points, maps, mask.shape[1], size, flip, scale,
                              offset)

        colour = uniform(batch, mask.shape[1], 3)
        colour = colour / colour.amax(-1, keepdim=True)
        grey = uniform(batch) < self.grey_probability
        colour = torch.where(grey[:, None, None], torch.ones_like(colour),
                             colour)
        hits = counts.sum(1)
        lit = (hits > 0).float()
        # Brightness saturates with density relative to the image's mean
        # density, so the number of points and the figure's area do not
        # change how bright a figure looks.
        mean_density = hits.sum((-1, -2)) / lit.sum((-1, -2)).clamp_min(1)
        brightness = 1 - torch.exp(-hits / mean_density[:, None, None])
        mixed = torch.einsum('bmhw,bmc->bchw', counts, colour)
        images = brightness[:, None] * mixed / hits.clamp_min(1)[:, None]
        if self.supersample > 1:
            images = F.avg_pool2d(images, self.supersample)
        return images.clamp(0, 1)
