"""What crosses from a student's answer back to the checks: values rebuilt from exact built-in types only.

The answer runs in a process of its own that the checks cannot trust: whatever it sends may be crafted. So it
never sends pickles of its objects. :func:`encode` takes a value apart into a tree of tagged tuples over
``None``, ``bool``, ``int``, ``float``, ``complex``, ``str`` and ``bytes``; :func:`dumps` pickles that tree, and
:func:`loads` reads it back with an unpickler that refuses every class and function, so no code runs while
reading. :func:`decode` then rebuilds exact types: a ``float`` subclass whose ``==`` is always true arrives as a
plain ``float``, a ``namedtuple`` as a ``tuple``, an array of objects not at all. An object the codec does not
know (an instance of the student's class, a generator, a bound method) stays in the answer's process and
arrives as a handle, which the checks can call but not compare.

Every tuple in the tree is a tag, so a tree never mixes tags with data:

=============================  ===============================================
``("t", items)``                a tuple (``namedtuple`` included)
``("l", items)``                a list
``("d", pairs, kind, factory)`` a dict, ``OrderedDict`` or ``defaultdict``
``("s", items)``, ``("f", ..)`` a set, a frozenset
``("a", dtype, shape, data)``   a NumPy array of a numeric dtype
``("n", dtype, data)``          a NumPy scalar (``numpy.float64``, ...)
``("T", ...)``                  a CPU tensor, or a ``Parameter``
``("r", id)``                   an object that came from the checks
``("h", id)``                   a handle to an object that stays in the answer
=============================  ===============================================
"""

import io
import math
import pickle
import re
import sys
import types
from collections import OrderedDict, defaultdict
from functools import cache

import numpy as np

MAX_DEPTH = 100
MAX_NODES = 2_000_000

_NUMPY_DTYPE = re.compile(r"[<>|=]?[biufc][1-9][0-9]?")
_TORCH_DTYPE_NAMES = ("bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32", "float64",
                      "complex64", "complex128")
BUILTIN_TYPES = {cls.__name__: cls for cls in (bool, int, float, complex, str, bytes, list, tuple, dict, set,
                                               frozenset, type(None))}
_DICT_KINDS = {"dict": dict, "OrderedDict": OrderedDict, "defaultdict": defaultdict}
PLAIN = (type(None), bool, int, float, complex, str, bytes)


class WireError(ValueError):
    """The answer's process sent something that is not a well-formed value."""


def torch_module():
    """torch, if this process has imported it (and not hidden it behind a rule's stand-in); else None.

    Grading an exercise that needs only NumPy never pays for importing torch.
    """
    module = sys.modules.get("torch")
    return module if type(module) is types.ModuleType else None


@cache
def torch_dtypes() -> dict:
    import torch

    return {name: getattr(torch, name) for name in _TORCH_DTYPE_NAMES}


# ------------------------------------------------------------------ encoding (in the answer's process)


def encode(value, ref_of, handle_of, depth: int = 0, torch=False):
    """``value`` as a tree of tagged tuples; ``ref_of(obj)`` names objects that came from the checks (or None),
    ``handle_of(obj)`` gives a handle to anything the codec cannot send by value."""
    if depth > MAX_DEPTH:
        raise WireError(f"a value nested more than {MAX_DEPTH} levels deep")
    kind = type(value)
    if kind in PLAIN:
        return value
    ref = ref_of(value)
    if ref is not None:
        return ("r", ref)
    if torch is False:
        torch = torch_module()
    again = lambda item: encode(item, ref_of, handle_of, depth + 1, torch)  # noqa: E731
    if isinstance(value, np.generic) and _numpy_dtype_ok(value.dtype):
        return ("n", value.dtype.str, value.tobytes())
    if torch is not None and isinstance(value, torch.Tensor):
        return tensor_to_wire(value) if tensor_ok(value) else ("h", handle_of(value))
    if isinstance(value, np.ndarray):
        if _numpy_dtype_ok(value.dtype):
            return ("a", value.dtype.str, list(value.shape), np.ascontiguousarray(value).tobytes())
        return ("h", handle_of(value))
    if isinstance(value, (bool, int, float, complex, str, bytes)):  # subclasses: their plain value
        return next(plain(value) for plain in (bool, int, float, complex, str, bytes) if isinstance(value, plain))
    if torch is not None and isinstance(value, torch.Size):
        return ("S", [int(size) for size in value])
    if isinstance(value, (tuple, list)):
        items = list(value)
        if not all(type(item) in PLAIN for item in items):  # else, as in a random state: plain values
            items = [again(item) for item in items]
        return ("t" if isinstance(value, tuple) else "l", items)
    if isinstance(value, dict):
        kind_name = next(name for name, cls in reversed(_DICT_KINDS.items()) if isinstance(value, cls))
        factory = getattr(value, "default_factory", None)
        factory = factory.__name__ if factory in BUILTIN_TYPES.values() else None
        return ("d", [[again(key), again(item)] for key, item in value.items()], kind_name, factory)
    if isinstance(value, (set, frozenset)):
        return ("s" if isinstance(value, set) else "f", [again(item) for item in value])
    if isinstance(value, bytearray):
        return ("B", bytes(value))
    if torch is not None and isinstance(value, torch.dtype):
        return ("D", str(value).removeprefix("torch."))
    if torch is not None and isinstance(value, torch.device):
        return ("V", str(value))
    if isinstance(value, np.dtype) and _numpy_dtype_ok(value):
        return ("N", value.str)
    if isinstance(value, slice):
        return ("L", again(value.start), again(value.stop), again(value.step))
    if isinstance(value, range):
        return ("R", value.start, value.stop, value.step)
    if value is Ellipsis:
        return ("E",)
    if isinstance(value, type) and BUILTIN_TYPES.get(value.__name__) is value:
        return ("b", value.__name__)
    return ("h", handle_of(value))


def tensor_to_wire(tensor, grad: bool = False) -> tuple:
    """A CPU tensor's tag: its dtype, shape, bytes, whether it requires grad, whether it is a Parameter, and
    (with ``grad``) its gradient's tag or None."""
    torch = torch_module()
    data = tensor.detach().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()
    gradient = None
    if grad and tensor.is_leaf and tensor.grad is not None and tensor_ok(tensor.grad):
        gradient = tensor_to_wire(tensor.grad)
    return ("T", str(tensor.dtype).removeprefix("torch."), list(tensor.shape), data, tensor.requires_grad,
            isinstance(tensor, torch.nn.Parameter), gradient)


def tensor_ok(tensor) -> bool:
    """Whether ``tensor`` can cross by value: a dense CPU tensor of a plain dtype."""
    return tensor.is_cpu and not tensor.is_sparse and not tensor.is_quantized and tensor.dtype in _torch_dtype_set()


@cache
def _torch_dtype_set() -> frozenset:
    return frozenset(torch_dtypes().values())


def _numpy_dtype_ok(dtype: np.dtype) -> bool:
    return dtype.kind in "biufc" and dtype.fields is None and dtype.subdtype is None


def dumps(tree) -> bytes:
    return pickle.dumps(tree, protocol=5)


# ------------------------------------------------------------------ decoding (in the checks' process)


class _NoGlobals(pickle.Unpickler):
    """An unpickler that builds only None, bools, numbers, strings, bytes, tuples, lists, dicts and sets."""

    def find_class(self, module, name):
        raise WireError(f"the answer's process sent a reference to {module}.{name}")

    def persistent_load(self, pid):
        raise WireError("the answer's process sent a persistent id")


def loads(data: bytes):
    try:
        return _NoGlobals(io.BytesIO(data)).load()
    except WireError:
        raise
    except Exception as error:  # a truncated or malformed stream: whatever pickle raises for it
        raise WireError(f"a malformed reply ({type(error).__name__})") from None


class Decoder:
    """Rebuilds values from trees; ``resolve(id)`` gives back the checks' own object, ``proxy(id)`` a handle."""

    def __init__(self, resolve, proxy):
        self.resolve, self.proxy = resolve, proxy
        self.nodes = 0

    def __call__(self, tree, depth: int = 0):
        self.nodes += 1
        if self.nodes > MAX_NODES or depth > MAX_DEPTH:
            raise WireError("a reply too large or too deeply nested")
        if type(tree) in PLAIN:
            return tree
        if type(tree) is not tuple or not tree or type(tree[0]) is not str:
            raise WireError(f"a malformed value of type {type(tree).__name__}")
        tag, fields = tree[0], tree[1:]
        again = lambda item: self(item, depth + 1)  # noqa: E731
        try:
            if tag == "t":
                return tuple(again(item) for item in _list(fields[0]))
            if tag == "l":
                return [again(item) for item in _list(fields[0])]
            if tag == "d":
                pairs, kind, factory = fields
                cls = _DICT_KINDS[kind]
                result = cls(BUILTIN_TYPES[factory] if factory else None) if cls is defaultdict else cls()
                for pair in _list(pairs):
                    key, item = _list(pair)
                    result[again(key)] = again(item)
                return result
            if tag in ("s", "f"):
                items = (again(item) for item in _list(fields[0]))
                return set(items) if tag == "s" else frozenset(items)
            if tag == "a":
                return _array(*fields)
            if tag == "n":
                dtype_text, data = fields
                return _array(dtype_text, [], data)[()]
            if tag == "T":
                return tensor_from_wire(tree)
            if tag == "S":
                import torch

                return torch.Size([_int(size) for size in _list(fields[0])])
            if tag == "r":
                return self.resolve(fields[0])
            if tag == "h":
                return self.proxy(_int(fields[0]))
            if tag == "B":
                return bytearray(_bytes(fields[0]))
            if tag == "D":
                return torch_dtypes()[fields[0]]
            if tag == "V":
                import torch

                return torch.device(_str(fields[0]))
            if tag == "N":
                return _dtype(fields[0])
            if tag == "L":
                return slice(*(again(field) for field in fields))
            if tag == "R":
                return range(*(_signed(field) for field in fields))
            if tag == "E":
                return Ellipsis
            if tag == "b":
                return BUILTIN_TYPES[fields[0]]
        except WireError:
            raise
        except (KeyError, ValueError, TypeError, IndexError, RuntimeError) as error:
            raise WireError(f"a malformed {tag!r} value ({type(error).__name__}: {error})") from None
        raise WireError(f"an unknown tag {tag!r}")


def tensor_from_wire(tree):
    """The tensor a ``("T", ...)`` tag describes, gradient included."""
    import torch

    _, dtype_name, shape, data, requires_grad, parameter, gradient = tree
    dtype, shape = torch_dtypes()[dtype_name], [_int(size) for size in _list(shape)]
    count = math.prod(shape)
    element = torch.empty((), dtype=dtype).element_size()
    if len(_bytes(data)) != count * element:
        raise WireError(f"a tensor of shape {shape} with {len(data)} bytes")
    tensor = torch.frombuffer(bytearray(data), dtype=dtype).reshape(shape) if count else torch.empty(shape, dtype=dtype)
    if parameter:
        tensor = torch.nn.Parameter(tensor, requires_grad=bool(requires_grad))
    elif requires_grad:
        tensor.requires_grad_(True)
    if gradient is not None:
        tensor.grad = tensor_from_wire(gradient)
    return tensor


def _array(dtype_text, shape, data) -> np.ndarray:
    dtype = _dtype(dtype_text)
    shape = [_int(size) for size in _list(shape)]
    if len(_bytes(data)) != math.prod(shape) * dtype.itemsize:
        raise WireError(f"an array of shape {shape} with {len(data)} bytes")
    return np.frombuffer(bytearray(data), dtype=dtype).reshape(shape)


def _dtype(text) -> np.dtype:
    if type(text) is not str or not _NUMPY_DTYPE.fullmatch(text):
        raise WireError(f"an array of dtype {text!r}")
    return np.dtype(text)


def _list(value) -> list:
    if type(value) is not list:
        raise WireError(f"a list was expected, not {type(value).__name__}")
    return value


def _int(value) -> int:
    if type(value) is not int or value < 0:
        raise WireError(f"a size or id was expected, not {value!r}")
    return value


def _signed(value) -> int:
    if type(value) is not int:
        raise WireError(f"an integer was expected, not {type(value).__name__}")
    return value


def _bytes(value) -> bytes:
    if type(value) is not bytes:
        raise WireError(f"bytes were expected, not {type(value).__name__}")
    return value


def _str(value) -> str:
    if type(value) is not str:
        raise WireError(f"a string was expected, not {type(value).__name__}")
    return value
