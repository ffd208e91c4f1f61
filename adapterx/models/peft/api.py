"""Adapt a ViT from Python, without configs.

::

    model = timm.create_model('vit_base_patch16_224', pretrained=False,
                              num_classes=100)
    model = adapterx.get_peft_model(model, 'adapterx')   # frozen but the method
    model.print_trainable_parameters()
    ...train...
    model.save_adapter('adapterx_cifar100.safetensors')   # trainable set only
    model = adapterx.load_peft_model(fresh_model, 'adapterx_cifar100.safetensors')

The model may be a timm ViT, an mmpretrain ``VisionTransformer``, the point
transformer, or any model whose ``backbone`` attribute is one (mmpretrain's
``ImageClassifier``, adapterx's ``PointClassifier``, a detector): the method
adapts the backbone and the task head trains with it. The methods are the
registered ones that configs name (``peft=dict(type=...)``), with the same
defaults.
"""
import hashlib
import json
from typing import Dict, List, Optional, Union

import torch.nn as nn
from torch import Tensor

from adapterx.checkpoint.io import load_safetensors, save_weights
from adapterx.checkpoint.trainable import trainable_state_dict
from adapterx.registry import MODELS
from .backbone_methods import apply_method, method_trainable_names
from .freeze import set_trainable, trainable_parameter_report, task_head
from .injected import injected_tensor_names
from .merge import merged_backbone

#: The names :func:`get_peft_model` accepts, and the registered method each
#: one builds.
METHOD_NAMES = {
    'adapterx': 'AdapterX',
    'adaptformer': 'AdaptFormer',
    'convpass': 'Convpass',
    'vpt': 'VPT',
    'lora': 'LoRA',
    'ssf': 'SSF',
    'fact': 'FacT',
    'dapt': 'DAPT',
    'idpt': 'IDPT',
    'bitfit': 'BitFit',
    'partial_finetune': 'PartialFineTune',
    'linear_probe': 'LinearProbe',
    'full_finetune': 'FullFineTune',
}


def method_config(method: Union[str, dict], **settings) -> dict:
    """The config dict (``type`` and settings) of ``method``: one of
    :data:`METHOD_NAMES`, a registered type name, or a dict; ``settings``
    override the method's defaults.

    Raises:
        ValueError: No method has that name, listing the names.
    """
    config = dict(method) if isinstance(method, dict) else dict(
        type=METHOD_NAMES.get(str(method).lower(), method))
    config.update(settings)
    method_type = config.get('type')
    if not isinstance(method_type, type) and MODELS.get(method_type) is None:
        raise ValueError(
            f'No PEFT method is named {method_type!r}; give one of '
            f'{sorted(METHOD_NAMES)} or a dict(type=...) of a registered '
            'method')
    return config


def model_fingerprint(model: nn.Module) -> str:
    """A digest of ``model``'s state-dict names and shapes (not values nor
    dtypes): two models it tells apart cannot take each other's adapters."""
    digest = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        digest.update(f'{name}:{tuple(tensor.shape)};'.encode())
    return digest.hexdigest()[:16]


def _qualified_name(model: nn.Module) -> str:
    return f'{type(model).__module__}.{type(model).__qualname__}'


def _as_json(value):
    # Settings go into the file as JSON; tuples come back as lists, so the
    # comparison on load is between JSON forms.
    return json.loads(json.dumps(value, default=str))


class PeftModel(nn.Module):
    """A model adapted by one PEFT method, frozen but for what the method
    trains (and the task head). Built by :func:`get_peft_model`.

    Attribute reads the wrapper does not answer go to the adapted model
    (``num_classes``, ``default_cfg``, ...).

    Args:
        model (nn.Module): The model to adapt; its ``backbone`` if it has
            one, else the model itself, is what the method adapts.
        method (dict): The method's config (``type`` and settings).
        train_head (bool): Whether the task head (mmpretrain's ``head``,
            timm's ``get_classifier()``) trains. Default: True.
    """

    def __init__(self, model: nn.Module, method: dict,
                 train_head: bool = True):
        super().__init__()
        self._released = False
        self.method = dict(method)
        self.train_head = train_head
        self.base_model_class = _qualified_name(model)
        self.base_model_fingerprint = model_fingerprint(model)
        self._original_requires_grad = {
            id(parameter): parameter.requires_grad
            for parameter in model.parameters()
        }
        self._adapts_backbone = isinstance(
            getattr(model, 'backbone', None), nn.Module)
        host = model.backbone if self._adapts_backbone else model
        adapted, self._backbone_method = apply_method(self.method, host)
        if self._adapts_backbone:
            model.backbone = adapted
            self.model = model
        else:
            self.model = adapted
        # Not a submodule of its own: the head is already one (under the
        # model), and registering it twice would save it twice.
        object.__setattr__(self, '_head',
                           task_head(model) if train_head else None)
        set_trainable(self, self.trainable_parameter_names())
        # unload() gives the model back as it came, so the values of its
        # own tensors that train (BitFit's biases, Adapter-X's norms, all of
        # them in full fine-tuning) are kept, on the CPU.
        self._original_values = {
            id(parameter): parameter.detach().to('cpu', copy=True)
            for parameter in model.parameters()
            if parameter.requires_grad
        }

    def __getattr__(self, name):
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(super().__getattr__('model'), name)

    @property
    def adapted(self) -> nn.Module:
        """What the method adapts: the PEFT wrapper (or, for a method that
        adds no module, the backbone itself)."""
        self._check_live()
        return self.model.backbone if self._adapts_backbone else self.model

    def _check_live(self):
        if self._released:
            raise RuntimeError(
                'This PeftModel gave its model back (merge_and_unload() / '
                'unload()); use the model those returned.')

    def forward(self, *args, **kwargs):
        self._check_live()
        return self.model(*args, **kwargs)

    def get_classifier(self) -> Optional[nn.Module]:
        """The task head that trains with the method (None without one, or
        with ``train_head=False``)."""
        return self._head

    def trainable_parameter_names(self) -> List[str]:
        """The method's set and the task head's parameters, under this
        model's names, in ``named_parameters`` order."""
        adapted = self.adapted
        method_names = set(
            method_trainable_names(adapted, self._backbone_method))
        chosen = {
            id(parameter)
            for name, parameter in adapted.named_parameters()
            if name in method_names
        }
        if self._head is not None:
            chosen.update(id(parameter) for parameter in self._head.parameters())
        return [
            name for name, parameter in self.named_parameters()
            if id(parameter) in chosen
        ]

    def auxiliary_losses(self) -> dict:
        """The method's losses of the last forward, to add to the task loss
        (Adapter-X's weighted load-balancing loss; empty for most
        methods)."""
        losses = getattr(self.adapted, 'auxiliary_losses', None)
        return {} if losses is None else losses()

    def trainable_parameter_report(self):
        """:class:`~adapterx.models.peft.TrainableParameterReport` of the
        trainable parameters, in both conventions of the literature."""
        return trainable_parameter_report(self)

    def print_trainable_parameters(self) -> None:
        """Print the trainable counts, 2D (without the head, % of the
        backbone) and 3D (with the head, % of the model) convention."""
        print(self.trainable_parameter_report().summary())

    def adapter_state_dict(self) -> Dict[str, Tensor]:
        """Exactly what training changed, under this model's state-dict
        keys: :func:`~adapterx.checkpoint.trainable_state_dict` (the
        trainable parameters, their modules' buffers, every BatchNorm's
        running statistics) and the buffers of the modules the method
        added."""
        state = trainable_state_dict(self)
        added = injected_tensor_names(self)
        state.update((key, value) for key, value in self.state_dict().items()
                     if key in added and key not in state)
        return state

    def adapter_metadata(self) -> dict:
        """The method, its settings and the model an adapter file fits."""
        return dict(
            method=_as_json(self.method),
            train_head=self.train_head,
            base_model_class=self.base_model_class,
            base_model_fingerprint=self.base_model_fingerprint)

    def save_adapter(self, path: str) -> None:
        """Write :meth:`adapter_state_dict` to ``path`` (``*.safetensors``)
        with :meth:`adapter_metadata` as JSON in it; atomically."""
        save_weights(path, self.adapter_state_dict(),
                     meta=dict(peft_adapter=self.adapter_metadata()))

    def load_adapter(self, path: str) -> None:
        """Load a :meth:`save_adapter` file into this model.

        Raises:
            ValueError: The file is no adapter file, or it was saved for
                another method, other settings or another model (naming
                both), or its tensors are not this model's adapter set.
        """
        self._load_adapter_file(load_safetensors(path), path)

    def _load_adapter_file(self, file: dict, path: str) -> None:
        check_adapter_fits(read_adapter_metadata(path, file),
                           self.adapter_metadata(), path)
        expected = self.adapter_state_dict()
        missing = sorted(set(expected) - set(file['state_dict']))
        unexpected = sorted(set(file['state_dict']) - set(expected))
        if missing or unexpected:
            raise ValueError(
                f'{path}: its tensors are not the adapter set of this model '
                f'(missing {missing[:5]}, unexpected {unexpected[:5]})')
        self.load_state_dict(file['state_dict'], strict=False)

    def merge_and_unload(self) -> nn.Module:
        """Fold the method into the weights and give back the plain model
        (the same object as the one adapted, its parameter names unchanged,
        its ``requires_grad`` flags as they came). A method without modules
        (BitFit, partial or full fine-tuning, linear probing) has nothing
        to fold.

        Raises:
            ValueError: The method does not fold into the weights (token-
                routed adapters, prompts, input-dependent scales), naming it.
        """
        plain = merged_backbone(self.adapted)
        return self._give_back(plain)

    def unload(self) -> nn.Module:
        """Remove the method and give back the model exactly as it came:
        its own tensors at their values before adaptation, its
        ``requires_grad`` flags as they were."""
        adapted = self.adapted
        plain = adapted if self._backbone_method is not None else (
            adapted.unwrap()[0])
        model = self._give_back(plain)
        for parameter in model.parameters():
            original = self._original_values.get(id(parameter))
            if original is not None:
                parameter.data.copy_(original)
        return model

    def _give_back(self, plain: nn.Module) -> nn.Module:
        if self._adapts_backbone:
            self.model.backbone = plain
            model = self.model
        else:
            model = plain
        for parameter in model.parameters():
            parameter.requires_grad_(
                self._original_requires_grad.get(id(parameter), True))
        self._released = True
        return model


def read_adapter_metadata(path: str, file: Optional[dict] = None) -> dict:
    """The :meth:`PeftModel.adapter_metadata` stored in an adapter file.

    Raises:
        ValueError: ``path`` holds no adapter metadata (another kind of
            safetensors file).
    """
    file = load_safetensors(path) if file is None else file
    metadata = file['meta'].get('peft_adapter')
    if metadata is None:
        raise ValueError(
            f'{path} is not an adapter file (no peft_adapter metadata); '
            'adapter files are written by PeftModel.save_adapter()')
    return metadata


def _describe(metadata: dict) -> str:
    return (f"{metadata['method']} on {metadata['base_model_class']} "
            f"(parameter layout {metadata['base_model_fingerprint']})")


def check_adapter_fits(stored: dict, wanted: dict, path: str) -> None:
    """Refuse an adapter file saved for another method, other settings or
    another model, naming what the file holds and what was expected."""
    if stored != wanted:
        raise ValueError(
            f'{path} holds an adapter for {_describe(stored)}, train_head='
            f"{stored['train_head']}; this model is {_describe(wanted)}, "
            f"train_head={wanted['train_head']}. Load it into the model it "
            'was trained on, with the same method settings.')


def get_peft_model(model: nn.Module, method: Union[str, dict],
                   train_head: bool = True, **settings) -> PeftModel:
    """Adapt ``model`` with ``method`` and freeze all but what it trains.

    Args:
        model (nn.Module): A timm ViT, an mmpretrain ``VisionTransformer``,
            the point transformer, or a model whose ``backbone`` is one
            (modified in place: the method's modules go into its blocks).
        method (str | dict): One of :data:`METHOD_NAMES` (``'adapterx'``,
            ``'lora'``, ...), or a config dict ``dict(type=..., ...)``.
        train_head (bool): Whether the task head trains. Default: True.
        **settings: Override the method's defaults (e.g. ``rank=4``).

    Raises:
        ValueError: The method is unknown, or cannot adapt ``model`` (no ViT
            blocks found, naming the model class and what was looked for).
    """
    return PeftModel(model, method_config(method, **settings), train_head)


def load_peft_model(model: nn.Module, path: str) -> PeftModel:
    """Adapt ``model`` with the method an adapter file names and load the
    file's tensors: the inverse of :meth:`PeftModel.save_adapter`.

    ``model`` is checked against the file before it is modified.
    """
    file = load_safetensors(path)
    stored = read_adapter_metadata(path, file)
    check_adapter_fits(
        stored,
        dict(stored,
             base_model_class=_qualified_name(model),
             base_model_fingerprint=model_fingerprint(model)), path)
    peft_model = PeftModel(model, stored['method'], stored['train_head'])
    peft_model._load_adapter_file(file, path)
    return peft_model
