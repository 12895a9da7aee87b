"""Shared building blocks of the stand-in legacy packages (not itself a legacy module)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


class LayerBase(nn.Module):
    """The shape of a legacy component: name, sources, nn params, inner net, shared source links."""

    def __init__(self, name: str, sources: list[dict[str, str]] | None = None, nn_params: Any = None) -> None:
        super().__init__()
        self._name = name
        self._sources = sources
        self._nn_params = nn_params if nn_params is not None else {}
        self._net: nn.Module | None = None
        self._ready = True
        self._source_components: dict[str, nn.Module] | None = None
        self._in_tensor_shapes: list[list[int]] = []
        self._out_tensor_shape: list[int] = []


class Linear(LayerBase):
    def __init__(self, name: str, in_features: int, out_features: int, **kw: Any) -> None:
        super().__init__(name, **kw)
        self._net = nn.Sequential(nn.Linear(in_features, out_features), nn.ReLU())
        self.clip_scale = 1
        self.l2_init_scale = 1
        self.initialization = "Orthogonal"


class Conv2d(LayerBase):
    def __init__(self, name: str, channels: int, out_channels: int, **kw: Any) -> None:
        super().__init__(name, **kw)
        self._net = nn.Sequential(nn.Conv2d(channels, out_channels, 3), nn.ReLU())
        self.nonlinearity = "nn.ReLU"


class Flatten(LayerBase):
    def __init__(self, name: str, **kw: Any) -> None:
        super().__init__(name, **kw)
        self._net = nn.Flatten()


class LSTM(LayerBase):
    def __init__(self, name: str, input_size: int, hidden: int, num_layers: int = 2, **kw: Any) -> None:
        super().__init__(name, **kw)
        self._net = nn.LSTM(input_size, hidden, num_layers)
        self.hidden = hidden
        self.num_layers = num_layers


class ObservationNormalizer(LayerBase):
    def __init__(self, name: str, num_features: int, **kw: Any) -> None:
        super().__init__(name, **kw)
        self.register_buffer("obs_norm", torch.linspace(1.0, 2.0, num_features))
        self._feature_normalizations = {i: 1.0 + i for i in range(num_features)}


class ObsTokenToBoxShaper(LayerBase):
    def __init__(self, name: str, **kw: Any) -> None:
        super().__init__(name, **kw)
        self.out_width = 11
        self.out_height = 11


class ActionEmbedding(LayerBase):
    def __init__(self, name: str, num_embeddings: int, dim: int, **kw: Any) -> None:
        super().__init__(name, **kw)
        self._net = nn.Embedding(num_embeddings, dim)
        self._reserved_action_embeds: dict[str, int] = {}
        self.num_actions = 0


class MettaActorSingleHead(LayerBase):
    def __init__(self, name: str, hidden: int, embed_dim: int, **kw: Any) -> None:
        super().__init__(name, **kw)
        self.W = nn.Parameter(torch.randn(hidden, embed_dim))
        self.bias = nn.Parameter(torch.zeros(1))
        self._net = nn.Tanh()
        self.hidden = hidden
        self.embed_dim = embed_dim


LAYER_CLASSES: dict[str, type] = {
    cls.__name__: cls
    for cls in (
        Linear,
        Conv2d,
        Flatten,
        LSTM,
        ObservationNormalizer,
        ObsTokenToBoxShaper,
        ActionEmbedding,
        MettaActorSingleHead,
    )
}


def legacy_subclass(base: type, module: str) -> type:
    """A subclass of `base` that pickles as `module.<base name>` (one class per legacy module path)."""
    return type(base.__name__, (base,), {"__module__": module, "__qualname__": base.__name__})
