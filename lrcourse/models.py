"""The few small models the course trains. Each takes flat feature vectors, except the transformer (tokens)."""

from collections.abc import Sequence

import torch
from torch import nn


def linear(num_features: int, num_outputs: int) -> nn.Module:
    """Linear (softmax) regression: with cross-entropy, logistic regression."""
    _check_sizes(num_features=num_features, num_outputs=num_outputs)
    return nn.Linear(num_features, num_outputs)


NORMALIZATIONS = {"batch": nn.BatchNorm1d, "layer": nn.LayerNorm}


class Scale(nn.Module):
    """Multiplies its input by a constant ``factor``. Put before a linear layer whose weight starts divided by
    ``factor``, it leaves the network's function as it was and multiplies that weight's rate under Adam by
    ``factor``: Adam moves each weight by about its rate whatever the gradient's scale (chapter 9)."""

    def __init__(self, factor: float):
        super().__init__()
        self.factor = float(factor)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h * self.factor

    def extra_repr(self) -> str:
        return f"factor={self.factor:g}"


def mlp(num_features: int, num_outputs: int, hidden: Sequence[int] = (64,), activation: type[nn.Module] = nn.ReLU,
        norm: str | None = None) -> nn.Module:
    """A multilayer perceptron, ``activation`` (ReLU unless told) between its layers, and with ``norm="batch"``
    or ``"layer"`` a batch or layer normalization after each hidden linear layer, before its activation."""
    _check_sizes(num_features=num_features, num_outputs=num_outputs, **{f"hidden[{i}]": h for i, h in enumerate(hidden)})
    if norm is not None and norm not in NORMALIZATIONS:
        raise ValueError(f"norm must be None or one of {', '.join(map(repr, NORMALIZATIONS))}; got {norm!r}")
    widths = [num_features, *hidden]
    layers = []
    for width_in, width_out in zip(widths, widths[1:]):
        layers.append(nn.Linear(width_in, width_out))
        if norm is not None:
            layers.append(NORMALIZATIONS[norm](width_out))
        layers.append(activation())
    return nn.Sequential(*layers, nn.Linear(widths[-1], num_outputs))


def small_cnn(num_outputs: int, image_shape: tuple[int, int, int] = (1, 28, 28), channels: int = 16) -> nn.Module:
    """Two 3x3 convolutions with pooling, then a linear head.

    Inputs are flat vectors of ``prod(image_shape)`` values, as every
    :class:`lrcourse.data.Dataset` holds them; the model reshapes them itself.
    """
    _check_sizes(num_outputs=num_outputs, channels=channels, **dict(zip(("channels_in", "height", "width"), image_shape)))
    c, h, w = image_shape
    return nn.Sequential(
        nn.Unflatten(1, image_shape),
        nn.Conv2d(c, channels, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(channels, 2 * channels, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(2 * channels * (h // 4) * (w // 4), num_outputs),
    )


class Transformer(nn.Module):
    """A small transformer encoder that maps a sequence of tokens to one class per position.

    ``norm_first=False`` is the original post-LayerNorm block of Vaswani et al.,
    whose early training is fragile at high learning rates; ``True`` puts the
    normalization before each sub-layer, as most recent models do.
    """

    def __init__(self, vocabulary: int, length: int, width: int = 64, heads: int = 4, layers: int = 2,
                 norm_first: bool = False):
        super().__init__()
        _check_sizes(vocabulary=vocabulary, length=length, width=width, heads=heads, layers=layers)
        if width % heads:
            raise ValueError(f"width ({width}) must be a multiple of heads ({heads})")
        self.embed = nn.Embedding(vocabulary, width)
        self.position = nn.Parameter(0.02 * torch.randn(length, width))
        block = nn.TransformerEncoderLayer(width, heads, dim_feedforward=4 * width, dropout=0.0,
                                           batch_first=True, norm_first=norm_first)
        # nested tensors only speed up padded batches, and asking for them with norm_first warns on stderr
        self.encoder = nn.TransformerEncoder(block, layers, enable_nested_tensor=False)
        self.head = nn.Linear(width, vocabulary)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """(batch, length) int64 tokens -> (batch, length, vocabulary) logits."""
        return self.head(self.encoder(self.embed(tokens) + self.position[: tokens.shape[1]]))


def _check_sizes(**sizes):
    for name, size in sizes.items():
        if not isinstance(size, int) or size < 1:
            raise ValueError(f"{name} must be a positive integer, got {size!r}")
