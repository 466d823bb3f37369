"""Calls from the checks into a student's answer that lives in another process.

The checks and their references run in one process; the student's function or class runs in another
(:mod:`lrgrader.answer`), and every call between them crosses a Unix socket. In the checks' process the answer
is a :class:`Handle`: calling it sends the arguments over, the answer runs there, and the result comes back.

- **Arguments by value, identity kept.** Arguments are pickled (cloudpickle: a loss function or a closure goes
  along with its code). Every object that crosses gets an id that both processes agree on (its place in the
  pickle's memo), so an object the answer hands back, or keeps and returns later, is the checks' own object
  again: ``optimizer.param_groups[0]["params"][0] is weight`` holds.
- **Mutations written back.** After every call, the state of every object that crossed and that the answer changed
  (arrays, tensors and their gradients, lists, dicts, a model's attributes, a generator's state) is written back
  into the checks' object, in place; before every call, what the checks changed meanwhile goes the other way (the
  gradients of a backward pass, say). The global random states of torch and NumPy follow too, so a seed set by a
  check governs the answer's draws (Python's ``random`` does not: see :class:`_Randomness`). An object stops being
  kept in step once the answer holds no reference to it.
- **Results by value, rebuilt from exact types** (:mod:`lrgrader.wire`): the answer's process is untrusted, so
  nothing it sends is unpickled. What cannot be sent by value (an instance of the student's class, a generator)
  stays there and comes back as a :class:`Handle`.
- **One call back.** A tensor that carries an autograd graph of the checks (the loss handed to
  ``update_ratios``) arrives as a tensor whose ``backward()`` runs the backward pass in the checks' process and
  brings the gradients over.

:class:`ChecksSide` is the checks' end, with the time limits of the call in progress; :func:`serve` runs the
answer's end.
"""

import ctypes
import functools
import gc
import inspect
import io
import os
import pickle
import random
import select
import signal
import socket
import struct
import sys
import time
import types
import weakref
from dataclasses import dataclass

import cloudpickle
import numpy as np

from lrgrader import wire

_HEADER = struct.Struct("!Q")
ROOT = 0  # the handle of the answer itself


class CheckTimeout(BaseException):
    """A check ran past its time limit. Not an Exception, so neither hypothesis nor the answer's code catches it."""


class AnswerCrashed(Exception):
    """The answer's process ended in the middle of a call (a crash, os._exit, the memory limit)."""


class ArgumentsRefused(Exception):
    """The answer's process could not rebuild the arguments of a call (a grader's fault, not a student's)."""


class AnswerUnloadable(Exception):
    """The answer could not be rebuilt in its process."""


class RuleBroken(BaseException):
    """The answer called something its exercise forbids. Not an Exception: no check may expect or swallow it."""

    def __init__(self, api: str, message: str):
        super().__init__(message)
        self.api = api


class StaleHandle(RuntimeError):
    """A handle to an object of an answer's process that has since been replaced."""


# ------------------------------------------------------------------ framing


def send_frame(connection: socket.socket, data: bytes):
    connection.sendall(_HEADER.pack(len(data)) + data if len(data) < 1 << 16 else _HEADER.pack(len(data)))
    if len(data) >= 1 << 16:
        connection.sendall(data)


def receive_frame(connection: socket.socket, limit: int, wait=lambda connection: None) -> bytes:
    """The next frame; ``wait(connection)`` is called before each read; EOFError if the peer closed."""
    wait(connection)
    data = connection.recv(1 << 16)
    while len(data) < _HEADER.size:
        wait(connection)
        more = connection.recv(1 << 16)
        if not more:
            raise EOFError
        data += more
    (size,) = _HEADER.unpack_from(data)
    if size > limit:
        raise wire.WireError(f"a reply of {size / 2**20:.0f} MB, more than the {limit / 2**20:.0f} MB allowed")
    chunks, have = [data[_HEADER.size:]], len(data) - _HEADER.size
    while have < size:
        wait(connection)
        chunk = connection.recv(min(size - have, 1 << 22))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        have += len(chunk)
    if have > size:
        raise wire.WireError("a frame longer than it said")
    return b"".join(chunks)


# ------------------------------------------------------------------ the state kept in step, on both sides

_NOT_STATEFUL = (type, types.FunctionType, types.BuiltinFunctionType, types.MethodType, types.ModuleType,
                 types.CodeType, BaseException, weakref.ref)
_UNTRACKED = (type(None), bool, int, float, complex, str, bytes, tuple, pickle.PickleBuffer, memoryview)
_UNTRACKED_TYPES = frozenset(_UNTRACKED)


def snapshot(obj):
    """The shallow state of a mutable object that crossed over, built of tuples, plain values and the objects it
    refers to; None for an object whose state is not kept in step (a function, a class, a module)."""
    if isinstance(obj, _NOT_STATEFUL):
        return None
    torch = wire.torch_module()
    if torch is not None and isinstance(obj, torch.Tensor):
        return ("tensor", wire.tensor_to_wire(obj, grad=True)) if wire.tensor_ok(obj) else None
    if isinstance(obj, np.ndarray):
        if not wire._numpy_dtype_ok(obj.dtype):
            return None
        return ("array", obj.dtype.str, tuple(obj.shape), np.ascontiguousarray(obj).tobytes())
    if isinstance(obj, np.random.Generator):
        return ("numpy generator", obj.bit_generator.state)
    if isinstance(obj, random.Random):
        return ("random", obj.getstate())
    if torch is not None and isinstance(obj, torch.Generator):
        return ("torch generator", wire.tensor_to_wire(obj.get_state()))
    if isinstance(obj, list):
        return ("list", tuple(obj))
    if isinstance(obj, dict):
        return ("dict", tuple(obj.items()))
    if isinstance(obj, set):
        return ("set", tuple(obj))
    if isinstance(obj, bytearray):
        return ("bytearray", bytes(obj))
    if isinstance(obj, types.CellType):
        try:
            return ("cell", True, obj.cell_contents)
        except ValueError:
            return ("cell", False, None)
    if not hasattr(obj, "__dict__"):
        return None
    return ("object", tuple(vars(obj).items()))


_PLAIN_TYPES = frozenset(wire.PLAIN)


def quick_fingerprint(obj, id_of):
    """Something that changes whenever the state of ``obj`` does, far cheaper to take than its :func:`snapshot`:
    for a tensor or an array its bytes; for a cell, list or dict, its items, each a plain value, a tuple of plain
    values or (by its id, from ``id_of``) an object that crossed over. None for any other object."""
    kind = type(obj)
    if kind is types.CellType:
        try:
            items = (obj.cell_contents,)
        except ValueError:
            return kind, "empty"
    elif kind is list:
        items = obj
    elif kind is dict:
        items = [*obj, *obj.values()]
    elif kind is np.ndarray:
        return obj.dtype.str, obj.shape, obj.tobytes()
    else:
        torch = wire.torch_module()
        if torch is not None and isinstance(obj, torch.Tensor) and wire.tensor_ok(obj):
            grad = obj.grad if obj.is_leaf else None
            return (obj.dtype, obj.shape, _raw(obj), obj.requires_grad,
                    None if grad is None or not wire.tensor_ok(grad) else (grad.dtype, grad.shape, _raw(grad)))
        return None
    kinds = tuple(map(type, items))
    if set(kinds) <= _PLAIN_TYPES:
        return kind, kinds, tuple(items)
    fingerprint = []
    for item, item_kind in zip(items, kinds):
        if item_kind in _PLAIN_TYPES or (item_kind is tuple and set(map(type, item)) <= _PLAIN_TYPES):
            fingerprint.append((item_kind, item))
        elif (number := id_of(item)) is not None:
            fingerprint.append(number)
        else:
            return None
    return kind, tuple(fingerprint)


def _raw(tensor) -> bytes:
    try:
        return tensor.detach().numpy().tobytes()
    except TypeError:  # a dtype NumPy lacks (bfloat16)
        return tensor.detach().contiguous().reshape(-1).view(wire.torch_module().uint8).numpy().tobytes()


def apply_state(obj, state):
    """Make ``obj`` hold ``state`` (from :func:`snapshot` in the other process), in place; ignore a state that
    does not fit the object."""
    if type(state) is not tuple or not state:
        return
    kind, fields = state[0], state[1:]
    torch = wire.torch_module()
    is_torch = lambda cls: torch is not None and isinstance(obj, getattr(torch, cls))  # noqa: E731
    try:
        if kind == "tensor" and is_torch("Tensor"):
            new = fields[0]
            _apply_tensor(obj, new if isinstance(new, torch.Tensor) else wire.tensor_from_wire(new))
        elif kind == "array" and isinstance(obj, np.ndarray):
            new = fields[0] if len(fields) == 1 else wire._array(fields[0], list(fields[1]), fields[2])
            if (isinstance(new, np.ndarray) and new.shape == obj.shape and new.dtype == obj.dtype
                    and obj.flags.writeable):
                if new.tobytes() != obj.tobytes():
                    obj[...] = new
        elif kind == "numpy generator" and isinstance(obj, np.random.Generator):
            obj.bit_generator.state = fields[0]
        elif kind == "random" and isinstance(obj, random.Random):
            obj.setstate(fields[0])
        elif kind == "torch generator" and is_torch("Generator"):
            obj.set_state(wire.tensor_from_wire(fields[0]))
        elif kind == "list" and isinstance(obj, list):
            obj[:] = fields[0]
        elif kind == "dict" and isinstance(obj, dict):
            items = [tuple(pair) for pair in fields[0]]
            obj.clear()
            obj.update(items)
        elif kind == "set" and isinstance(obj, set):
            obj.clear()
            obj.update(fields[0])
        elif kind == "bytearray" and isinstance(obj, bytearray):
            obj[:] = fields[0]
        elif kind == "cell" and isinstance(obj, types.CellType):
            if fields[0]:
                obj.cell_contents = fields[1]
            else:
                del obj.cell_contents
        elif kind == "object" and hasattr(obj, "__dict__") and not isinstance(obj, _NOT_STATEFUL):
            attributes = dict(fields[0])
            if all(type(name) is str for name in attributes):
                vars(obj).clear()
                vars(obj).update(attributes)
    except (TypeError, ValueError, RuntimeError, KeyError, IndexError, AttributeError):
        pass  # a state the object cannot take: the object keeps its own


def _apply_tensor(tensor, new):
    torch = wire.torch_module()
    with torch.no_grad():
        if new.shape == tensor.shape and new.dtype == tensor.dtype:
            if not _same_bits(tensor, new):
                tensor.copy_(new)
        else:
            tensor.data = new.detach()
    if not tensor.is_leaf:
        return
    if tensor.requires_grad != new.requires_grad:
        tensor.requires_grad_(new.requires_grad)
    gradient = new.grad
    if gradient is None:
        tensor.grad = None
    elif tensor.grad is not None and tensor.grad.shape == gradient.shape and tensor.grad.dtype == gradient.dtype:
        if not _same_bits(tensor.grad, gradient):
            with torch.no_grad():
                tensor.grad.copy_(gradient)
    elif gradient.shape == tensor.shape and gradient.dtype == tensor.dtype:
        tensor.grad = gradient


def _same_bits(a, b) -> bool:
    torch = wire.torch_module()
    a, b = a.detach().contiguous().reshape(-1), b.detach().contiguous().reshape(-1)
    return a.numel() == 0 or torch.equal(a.view(torch.uint8), b.view(torch.uint8))


class _Randomness:
    """The global random states of torch and NumPy, kept in step between the two processes: before each message,
    :meth:`changed` gives them (as plain values) if they changed since the last exchange. (Python's ``random``
    is left out: no check seeds it for an answer, and reading its state costs more than all the rest.)"""

    def __init__(self):
        self._last = None

    def changed(self) -> tuple | None:
        fingerprint = self._fingerprint()
        if fingerprint == self._last:
            return None
        self._last = fingerprint
        torch = wire.torch_module()
        return (None if torch is None else wire.tensor_to_wire(torch.get_rng_state()),
                np.random.get_state(legacy=False))

    def apply(self, states):
        """Take on the states the other process sent (ignoring any that do not fit)."""
        try:
            torch_state, numpy_state = states
            torch = wire.torch_module()
            if torch is not None and torch_state is not None:
                torch.set_rng_state(wire.tensor_from_wire(torch_state))
            np.random.set_state(numpy_state)
        except (TypeError, ValueError, RuntimeError, KeyError, IndexError):
            pass
        self._last = self._fingerprint()

    @staticmethod
    def _fingerprint() -> tuple:
        """Cheap to take (it is taken before every message): NumPy's generator is read in place, its 624 words
        and position, rather than through ``get_state`` (which copies it into a new dictionary). Its cached normal
        deviate is not read: a draw that only uses that up goes unnoticed until the next change."""
        torch = wire.torch_module()
        numpy_state = np.random.mtrand._rand._bit_generator.ctypes.state_address
        return (None if torch is None else torch.get_rng_state().numpy().tobytes(),
                ctypes.string_at(numpy_state, 624 * 4 + 4))


class _Table:
    """The objects that crossed from the checks to the answer, by the id both processes give them, and the state
    of each as it was last exchanged (the bytes it was sent or taken in as)."""

    def __init__(self):
        self.objects, self.ids, self.last = {}, {}, {}
        self.next_id, self.new = 0, []

    def id_of(self, obj) -> int | None:
        number = self.ids.get(id(obj))
        return number if number is not None and self.objects[number] is obj else None

    def register(self, memo: list):
        """Give ids to the objects of one pickle's memo, in memo order (both processes see the same order).

        The namespaces that cloudpickle builds for the functions it sends by value are left out (None in
        ``memo``) on both sides: they are scaffolding, and syncing them would drag every builtin along.
        """
        for offset, obj in enumerate(memo):
            if not isinstance(obj, _UNTRACKED) and id(obj) not in self.ids:
                self.objects[self.next_id + offset] = obj
                self.ids[id(obj)] = self.next_id + offset
                self.new.append(self.next_id + offset)
        self.next_id += len(memo)

    def take_new(self) -> list[int]:
        """The ids given since the last call."""
        new, self.new = self.new, []
        return new

    def drop(self, number: int):
        obj = self.objects.pop(number, None)
        if obj is not None:
            self.ids.pop(id(obj), None)
        self.last.pop(number, None)


# ------------------------------------------------------------------ pickling from the checks to the answer


# The fingerprints (see quick_fingerprint) of the tensors and arrays pickled or unpickled for the message in
# progress, by id: their bytes are at hand then, and each is about to be remembered as exchanged.
_FINGERPRINTS: dict[int, tuple] = {}


def _array(dtype: str, shape: tuple, data: bytes) -> np.ndarray:
    array = wire._array(dtype, list(shape), data)
    _FINGERPRINTS[id(array)] = (array.dtype.str, array.shape, data)
    return array


def _tensor_fingerprint(tree: tuple) -> tuple:
    """What :func:`quick_fingerprint` gives for the tensor that a (compact) tag describes."""
    _, dtype, shape, data, requires_grad, _, gradient = tree
    grad = None if gradient is None else (wire.torch_dtypes()[gradient[1]], tuple(gradient[2]), gradient[3])
    return wire.torch_dtypes()[dtype], tuple(shape), data, requires_grad, grad


def _compact(tree: tuple) -> tuple:
    """A tensor's tag with its shape as a tuple, as it is pickled: a list would be one more object to keep in step."""
    tag, dtype, shape, data, requires_grad, parameter, gradient = tree
    return tag, dtype, tuple(shape), data, requires_grad, parameter, None if gradient is None else _compact(gradient)


def _expanded(tree: tuple) -> tuple:
    tag, dtype, shape, data, requires_grad, parameter, gradient = tree
    return tag, dtype, list(shape), data, requires_grad, parameter, None if gradient is None else _expanded(gradient)


def _tensor(tree):
    tensor = wire.tensor_from_wire(_expanded(tree))
    _FINGERPRINTS[id(tensor)] = _tensor_fingerprint(tree)
    return tensor


def _graph_tensor(tree):
    """In the answer's process: a tensor whose autograd graph stayed with the checks (see :func:`graph_tensor_class`)."""
    import torch

    return torch.Tensor._make_subclass(graph_tensor_class(), _tensor(tree).detach(), True)


@functools.cache
def graph_tensor_class() -> type:
    """A tensor of the checks that carries an autograd graph (a loss): its ``backward()`` runs in the checks'
    process, whose gradients then come over to the parameters that crossed with it."""
    import torch

    class GraphTensor(torch.Tensor):
        __torch_function__ = torch._C._disabled_torch_function_impl

        def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
            _ANSWER_SIDE.call_back_backward(self, gradient, retain_graph, create_graph)

    return GraphTensor


class _Pickler(cloudpickle.Pickler):
    """cloudpickle, with the objects that already crossed sent by id, tensors sent as plain bytes, and
    generators (``model.parameters()``) sent as what they yield."""

    def __init__(self, file, table: _Table, handle_id):
        super().__init__(file, protocol=5)
        self.table, self.handle_id = table, handle_id

    def persistent_id(self, obj):
        if type(obj) in _UNTRACKED_TYPES:
            return None
        if isinstance(obj, Handle):
            return ("handle", self.handle_id(obj))
        number = self.table.id_of(obj)
        return None if number is None else ("object", number)

    def reducer_override(self, obj):
        torch = wire.torch_module()
        if torch is not None and type(obj) in (torch.Tensor, torch.nn.Parameter) and wire.tensor_ok(obj):
            if obj.grad_fn is not None:
                return _graph_tensor, (_compact(wire.tensor_to_wire(obj)),)
            tree = _compact(wire.tensor_to_wire(obj, grad=True))
            _FINGERPRINTS[id(obj)] = _tensor_fingerprint(tree)
            return _tensor, (tree,)
        if type(obj) is np.ndarray and wire._numpy_dtype_ok(obj.dtype):
            data = obj.tobytes()
            _FINGERPRINTS[id(obj)] = (obj.dtype.str, obj.shape, data)
            return _array, (obj.dtype.str, obj.shape, data)
        if isinstance(obj, types.GeneratorType):
            return iter, (list(obj),)
        return super().reducer_override(obj)


_PLAIN_STATES = ("tensor", "array", "numpy generator", "random", "torch generator", "bytearray")


def _plain(value, depth: int = 0) -> bool:
    """Whether ``value`` is built of plain values and tuples only (most calls' arguments are)."""
    if type(value) in wire.PLAIN:
        return True
    return type(value) is tuple and depth < 4 and all(_plain(item, depth + 1) for item in value)


def _pickled(obj, table: _Table, handle_id) -> tuple[bytes, list]:
    """``obj`` pickled, and the objects of its memo in memo order (for :meth:`_Table.register`)."""
    buffer = io.BytesIO()
    if (type(obj) is tuple and obj and obj[0] in _PLAIN_STATES) or _plain(obj):  # no object to name: plain pickle
        pickler = pickle.Pickler(buffer, protocol=5)
        pickler.dump(obj)
        return buffer.getvalue(), [None] * len(pickler.memo.copy())
    pickler = _Pickler(buffer, table, handle_id)
    pickler.dump(obj)
    memo = [entry[1] for entry in sorted(pickler.memo.copy().values(), key=lambda entry: entry[0])]
    scaffolding = {id(namespace) for namespace in pickler.globals_ref.values()}
    return buffer.getvalue(), [None if id(obj) in scaffolding else obj for obj in memo]


class _Unpickler(pickle.Unpickler):
    def __init__(self, data: bytes, table: _Table, handles: dict):
        super().__init__(io.BytesIO(data))
        self.table, self.handles = table, handles

    def persistent_load(self, pid):
        kind, number = pid
        return self.handles[number] if kind == "handle" else self.table.objects[number]


# ------------------------------------------------------------------ the checks' end


@dataclass
class Budget:
    """How long the call in progress may take: CPU seconds of both processes together, and wall seconds."""
    cpu_seconds: float
    wall_seconds: float


class ChecksSide:
    """The checks' end of the bridge: sends calls, writes back what the answer changed, keeps the time limits.

    ``start_answer()`` gives a connected socket and the pid of a fresh answer's process; it is called again after
    a process was killed or crashed, for the next check. ``begin(budget)`` starts the clock of one check.
    """

    def __init__(self, start_answer, reply_limit: int):
        self._start_answer, self._reply_limit = start_answer, reply_limit
        self._connection, self._pid, self.generation = None, None, 0
        self._budget, self._started, self._answer_read = None, None, (0.0, 0.0)
        self.answer_cpu_spent = 0.0  # CPU seconds of the answer's processes that have ended
        self.root = Handle(self, ROOT, None)
        self.broken_rules, self.attempts = set(), set()  # what the answer used or tried, reported by its process
        self.crashes = 0  # calls during which the answer's process ended
        self.methods = set()

    # ---- the answer's process

    def _ensure_answer(self):
        if self._connection is not None:
            return
        self._connection, self._pid = self._start_answer()
        self.generation += 1
        self._table, self._handles, self._released_handles = _Table(), weakref.WeakValueDictionary(), []
        self.methods = set()  # (handle, name) of the attributes known to be methods of the answer's objects
        self._randomness, self._answer_read = _Randomness(), (0.0, 0.0)
        if self._started is not None:
            self._started["answer"] = 0.0
        greeting = self._receive()
        self._unloadable = greeting[1] if greeting[0] == "unloadable" else None

    def stop(self):
        """End the answer's process (after a time-out or a crash, or at the end of the suite)."""
        if self._pid is not None:
            self.answer_cpu_spent += answer_cpu(self._pid)
            try:
                os.kill(self._pid, 9)
            except (ProcessLookupError, PermissionError):
                pass
        if self._connection is not None:
            self._connection.close()
        self._connection, self._pid = None, None

    # ---- the clock of one check

    def begin(self, budget: Budget):
        """Start the clock of one check; past its CPU budget, in this process or the answer's, it times out."""
        self._budget = budget
        self._started = {"wall": time.monotonic(), "own": time.process_time(),
                         "answer": answer_cpu(self._pid) if self._pid else 0.0}
        self._arm()

    def end(self):
        signal.setitimer(signal.ITIMER_PROF, 0)
        self._budget, self._started = None, None

    def _arm(self, quietly: bool = False):
        """Set this process's CPU timer (SIGPROF) to what is left of the check's budget."""
        left = self.remaining()
        if left is None:
            return
        if left > 0:
            signal.setitimer(signal.ITIMER_PROF, left)
        elif not quietly:
            raise CheckTimeout

    def cpu_used(self, fresh: bool = True) -> float:
        """CPU seconds the check in progress has used, in this process and in the answer's; the answer's as read
        in the last 20 ms unless ``fresh`` (reading it costs a file read)."""
        now = time.monotonic()
        if self._pid and (fresh or now - self._answer_read[0] > 0.02):
            self._answer_read = (now, answer_cpu(self._pid))
        answer = (self._answer_read[1] - self._started["answer"]) if self._pid else 0.0
        return time.process_time() - self._started["own"] + answer

    def remaining(self) -> float | None:
        return None if self._budget is None else self._budget.cpu_seconds - self.cpu_used(fresh=False)

    def _wait(self, connection):
        """Wait for the answer to send, within the check's limits; kill it and raise CheckTimeout past them."""
        while not select.select([connection], [], [], 0.05)[0]:
            if self._budget is None:
                continue
            if (self.cpu_used() > self._budget.cpu_seconds
                    or time.monotonic() - self._started["wall"] > self._budget.wall_seconds):
                self.stop()
                raise CheckTimeout

    # ---- requests

    def request(self, op: str, handle: "Handle", *fields):
        """Send one request about ``handle`` and return its result (or raise what the answer raised)."""
        signal.setitimer(signal.ITIMER_PROF, 0)  # while the answer works, the wait below keeps the clock
        try:
            self._ensure_answer()
            if handle._generation not in (None, self.generation):
                raise StaleHandle("this object of your answer was lost when its process was restarted after an "
                                  "earlier check ran out of time or crashed")
            if self._unloadable is not None:
                raise AnswerUnloadable(self._unloadable)
            self._send(("request", op, handle._hid, fields))
            while True:
                reply = self._receive()
                if reply[0] != "backward":
                    break
                self._run_backward(*reply[1:])
        except (StaleHandle, AnswerUnloadable):
            self._arm(quietly=True)
            raise
        except (EOFError, ConnectionError):
            self.stop()
            self.crashes += 1
            self._arm(quietly=True)
            raise AnswerCrashed("your code crashed the process it ran in (a segmentation fault, os._exit, or "
                                "running out of memory)") from None
        except BaseException:  # a malformed reply, a time-out: the conversation cannot go on
            self.stop()
            self._arm(quietly=True)
            raise
        self._arm()
        return self._outcome(reply)

    def _send(self, message):
        """Send a message, with the state of every object the checks changed since it was last exchanged."""
        table, sync = self._table, []
        for number in list(table.objects):
            obj = table.objects[number]
            quick = quick_fingerprint(obj, table.id_of)
            if quick is not None and quick == table.last.get(number):
                continue
            state = snapshot(obj)
            if state is None:
                continue
            blob, memo = _pickled(state, table, self._handle_id)
            if quick is None and blob == table.last.get(number):
                continue
            table.register(memo)
            sync.append((number, blob))
        body, memo = _pickled(message, table, self._handle_id)
        table.register(memo)
        for number in [*(number for number, _ in sync), *table.take_new()]:
            self._remember(number)
        _FINGERPRINTS.clear()
        released, self._released_handles = self._released_handles, []
        send_frame(self._connection, pickle.dumps((sync, body, self._randomness.changed(), released), protocol=5))

    def _remember(self, number: int):
        """Note the state of object ``number`` as exchanged, so that it is sent again only once it changes."""
        obj = self._table.objects.get(number)
        if obj is None:
            return
        fingerprint = _FINGERPRINTS.get(id(obj)) or quick_fingerprint(obj, self._table.id_of)
        if fingerprint is None and (state := snapshot(obj)) is not None:
            fingerprint = _pickled(state, self._table, self._handle_id)[0]
        if fingerprint is not None:
            self._table.last[number] = fingerprint

    def _receive(self):
        frame = receive_frame(self._connection, self._reply_limit, self._wait)
        kind, body, sync, released, randomness, rules, attempts = _reply_fields(wire.loads(frame))
        decode = wire.Decoder(self._resolve, self._proxy)
        result = (kind, *(decode(field) for field in body))
        for number, tree in sync:
            if number in self._table.objects:
                apply_state(self._table.objects[number], decode(tree))
                self._remember(number)
        for number in released:
            self._table.drop(number)
        if randomness is not None:
            self._randomness.apply(decode(randomness))
        if rules:
            self._note_rules(rules)
        self.attempts.update(attempt[:300] for attempt in attempts)
        return result

    def _note_rules(self, rules):
        for api, message in rules:
            self.broken_rules.add((str(api), str(message)))

    def _outcome(self, reply):
        kind, *fields = reply
        if kind == "forbidden":
            api, message = fields
            raise RuleBroken(str(api), str(message))
        if kind == "ok":
            return fields[0]
        if kind == "method":
            return _METHOD
        if kind == "raised":
            raise _rebuilt_exception(*fields)
        if kind == "unreadable":
            self.stop()
            raise ArgumentsRefused(f"the arguments could not be passed to your answer ({fields[0]})")
        raise wire.WireError(f"an unknown reply {kind!r}")

    def _run_backward(self, number, gradient, retain_graph, create_graph):
        """The answer called backward() on a tensor of ours: run it here, then send the gradients over."""
        try:
            self._table.objects[number].backward(gradient=gradient, retain_graph=retain_graph,
                                                 create_graph=create_graph)
            self._send(("resumed", None))
        except Exception as error:  # the backward pass failed here: the answer's call fails the same way
            self._send(("resumed", f"{type(error).__name__}: {error}"))

    def _resolve(self, number):
        try:
            return self._table.objects[number]
        except KeyError:
            raise wire.WireError(f"a reference to object {number}, which never crossed over") from None

    def _proxy(self, number: int) -> "Handle":
        if number == ROOT:
            return self.root
        handle = self._handles.get(number)
        if handle is None:
            handle = Handle(self, number, self.generation)
            self._handles[number] = handle
            weakref.finalize(handle, self._let_go, number, self.generation)
        return handle

    def _let_go(self, number: int, generation: int):
        """A handle of the checks was collected: the answer's process may let its object go (with the next message)."""
        if generation == self.generation:
            self._released_handles.append(number)

    def _handle_id(self, handle: "Handle") -> int:
        if handle._bridge is not self or handle._generation not in (None, self.generation):
            raise StaleHandle("an object of your answer that no longer exists was passed back to it")
        return handle._hid


def _reply_fields(tree):
    """(kind, fields, sync, released, random states, rules broken, attempts) of a reply, checked for shape."""
    if type(tree) is not tuple or len(tree) != 7:
        raise wire.WireError("a malformed reply")
    kind, body, sync, released, randomness, rules, attempts = tree
    if type(kind) is not str or type(body) is not list or type(sync) is not list or type(released) is not list \
            or type(rules) is not list or type(attempts) is not list:
        raise wire.WireError("a malformed reply")
    if not all(type(attempt) is str for attempt in attempts):
        raise wire.WireError("a malformed reply")
    for entry in sync:
        if type(entry) is not list or len(entry) != 2 or type(entry[0]) is not int:
            raise wire.WireError("a malformed reply")
    if any(type(number) is not int for number in released):
        raise wire.WireError("a malformed reply")
    for entry in rules:
        if type(entry) is not list or len(entry) != 2 or not all(type(text) is str for text in entry):
            raise wire.WireError("a malformed reply")
    return kind, body, sync, released, randomness, rules, attempts


_BUILTIN_EXCEPTIONS = {cls.__name__: cls for cls in (
    ValueError, TypeError, KeyError, IndexError, LookupError, ZeroDivisionError, ArithmeticError, OverflowError,
    FloatingPointError, RuntimeError, NotImplementedError, RecursionError, AssertionError, StopIteration,
    AttributeError, NameError, UnboundLocalError, ImportError, ModuleNotFoundError, MemoryError, OSError,
    PermissionError, FileNotFoundError, UnicodeError, EOFError, Exception)}


def _rebuilt_exception(checks_class, builtin: str, name: str, message: str, args) -> BaseException:
    """The exception the answer raised, as the checks can catch it: an exception class of the checks' own (one
    of their callbacks raised it), else the closest built-in exception."""
    args = args if type(args) is tuple else (message,)
    if isinstance(checks_class, type) and issubclass(checks_class, BaseException):
        error = checks_class.__new__(checks_class)
        error.args = args
        return error
    builtin, name, message = str(builtin), str(name), str(message)
    cls = _BUILTIN_EXCEPTIONS.get(builtin, RuntimeError)
    if builtin not in _BUILTIN_EXCEPTIONS:  # SystemExit, KeyboardInterrupt: never raised in the checks as such
        return RuntimeError(f"{name}: {message}")
    try:
        error = cls(*args)
    except Exception:  # arguments this class does not take
        error = cls(message)
    return error if name == builtin else _named(error, name)


def _named(error: BaseException, name: str) -> BaseException:
    """``error`` with the answer's own class name in its message (``BadRate: lr must be positive``)."""
    if type(error) is KeyError or not error.args:
        return error
    error.args = (f"{name}: {error.args[0]}", *error.args[1:])
    return error


class Handle:
    """An object that stays in the answer's process: the checks can call it, read and set its attributes, index,
    iterate and measure it, but it never compares equal to a value and is neither true nor false."""

    __slots__ = ("_bridge", "_hid", "_generation", "__weakref__")

    def __init__(self, bridge: ChecksSide, hid: int, generation: int | None):
        object.__setattr__(self, "_bridge", bridge)
        object.__setattr__(self, "_hid", hid)
        object.__setattr__(self, "_generation", generation)

    def __call__(self, *args, **kwargs):
        return self._bridge.request("call", self, args, tuple(kwargs.items()))

    def __getattr__(self, name: str):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        if (self._hid, name) not in self._bridge.methods:
            value = self._bridge.request("getattr", self, name)
            if value is not _METHOD:
                return value
            self._bridge.methods.add((self._hid, name))
        return _Method(self, name)

    def __setattr__(self, name: str, value):
        self._bridge.request("setattr", self, name, value)

    def __getitem__(self, key):
        return self._bridge.request("getitem", self, key)

    def __setitem__(self, key, value):
        self._bridge.request("setitem", self, key, value)

    def __len__(self) -> int:
        length = self._bridge.request("len", self)
        if type(length) is not int:
            raise TypeError("the answer's object gave a length that is not an integer")
        return length

    def __iter__(self):
        return self._bridge.request("iter", self)

    def __next__(self):
        return self._bridge.request("next", self)

    def __contains__(self, item) -> bool:
        return self._bridge.request("contains", self, item) is True

    def __bool__(self):
        raise TypeError("the answer gave an object of its own where a value (a number, a list, an array...) "
                        "was expected")

    def __repr__(self) -> str:
        try:
            text = self._bridge.request("repr", self)
        except Exception:  # a repr that fails or a process that is gone: still something to print
            text = None
        return text[:300] if type(text) is str else "<an object of the answer>"


_METHOD = object()  # what asking for an attribute gives when the attribute is a method of the object


class _Method:
    """A method of an object of the answer: calling it is one request (not one to fetch it, one to call it)."""

    __slots__ = ("_handle", "_name")

    def __init__(self, handle: Handle, name: str):
        self._handle, self._name = handle, name

    def __call__(self, *args, **kwargs):
        return self._handle._bridge.request("call method", self._handle, self._name, args, tuple(kwargs.items()))

    def __repr__(self) -> str:
        return f"<method {self._name} of {self._handle!r}>"


def mro(handle: Handle) -> tuple[bool, list[str]]:
    """Whether the answer's object is a class, and the qualified names of its classes (``module.QualName``),
    the object's own class first."""
    is_class, names = handle._bridge.request("mro", handle)
    return bool(is_class), [str(name) for name in names]


def answer_cpu(pid: int) -> float:
    """CPU seconds the process ``pid`` has used (user and system), 0 where /proc does not tell."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as file:
            fields = file.read().rsplit(b")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _TICKS
    except (OSError, IndexError, ValueError):
        return 0.0


_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


# ------------------------------------------------------------------ the answer's end


class _AnswerSide:
    """The answer's end of the bridge: runs each request on the answer and replies with values, never pickles."""

    def __init__(self, connection: socket.socket, root, request_limit: int):
        self.connection, self.request_limit = connection, request_limit
        self.table, self.handles, self.handle_ids = _Table(), {ROOT: root}, {id(root): ROOT}
        self.next_handle = ROOT + 1
        self.randomness = _Randomness()
        self.collect = False  # whether the checks let go of objects since the last garbage collection
        self.broken_rules: list[list[str]] = []  # [api, message]: sticky, reported with every reply
        self.attempts: list[str] = []  # what the audit hook saw the answer try: sticky too

    def ref_of(self, obj):
        return self.table.id_of(obj)

    def handle_of(self, obj) -> int:
        number = self.handle_ids.get(id(obj))
        if number is None or self.handles[number] is not obj:
            number, self.next_handle = self.next_handle, self.next_handle + 1
            self.handles[number], self.handle_ids[id(obj)] = obj, number
        return number

    def encode(self, value):
        return wire.encode(value, self.ref_of, self.handle_of)

    def receive(self):
        sync, body, randomness, released = pickle.loads(receive_frame(self.connection, self.request_limit))
        self.collect = self.collect or bool(released)
        for number in released:
            obj = self.handles.pop(number, None)
            if obj is not None and self.handle_ids.get(id(obj)) == number:
                del self.handle_ids[id(obj)]
        applied = []
        for number, blob in sync:
            state = self._unpickle(blob)
            if number in self.table.objects:
                apply_state(self.table.objects[number], state)
                applied.append(number)
        message = self._unpickle(body)
        for number in [*applied, *self.table.take_new()]:
            if number in self.table.objects:
                self._remember(number, self.table.objects[number])
        _FINGERPRINTS.clear()
        if randomness is not None:
            self.randomness.apply(randomness)
        return message

    def _unpickle(self, blob: bytes):
        unpickler = _Unpickler(blob, self.table, self.handles)
        value = unpickler.load()
        memo = [obj for _, obj in sorted(unpickler.memo.copy().items())]
        scaffolding = {id(obj.__globals__) for obj in memo if isinstance(obj, types.FunctionType)}
        self.table.register([None if id(obj) in scaffolding else obj for obj in memo])
        return value

    def _remember(self, number: int, obj):
        fingerprint = _FINGERPRINTS.get(id(obj)) or quick_fingerprint(obj, self.table.id_of)
        if fingerprint is None and (state := snapshot(obj)) is not None:
            fingerprint = wire.dumps(self.encode(state))
        if fingerprint is not None:
            self.table.last[number] = fingerprint

    def _encoded_state(self, obj, quick):
        """The :func:`snapshot` of ``obj``, encoded; for a tensor or an array (whose bytes ``quick`` holds), built
        directly, since the training loops of the checks send the same few parameters at every step."""
        if isinstance(obj, np.ndarray):
            return ("t", ["array", ("a", obj.dtype.str, list(obj.shape), quick[2])])
        torch = wire.torch_module()
        if torch is not None and isinstance(obj, torch.Tensor):
            return ("t", ["tensor", wire.tensor_to_wire(obj, grad=True)])
        state = snapshot(obj)
        return None if state is None else self.encode(state)

    def reply(self, kind: str, body: list, released: bool = True):
        """Send a reply whose fields are already encoded, with the state of every object from the checks that
        changed here, and the ids of those this process no longer refers to."""
        sync = []
        for number in list(self.table.objects):
            obj = self.table.objects[number]
            quick = quick_fingerprint(obj, self.table.id_of)
            if quick is not None and quick == self.table.last.get(number):
                continue
            encoded = self._encoded_state(obj, quick)
            if encoded is None:
                continue
            fingerprint = quick if quick is not None else wire.dumps(encoded)
            if fingerprint != self.table.last.get(number):
                self.table.last[number] = fingerprint
                sync.append([number, encoded])
        randomness = self.randomness.changed()
        randomness = None if randomness is None else self.encode(randomness)
        gone = self._release() if released else []
        send_frame(self.connection, wire.dumps((kind, body, sync, gone, randomness, self.broken_rules,
                                                self.attempts)))

    def _release(self) -> list[int]:
        """Forget the objects from the checks that nothing in this process refers to any more.

        An object of the answer that the checks let go may sit in a reference cycle (torch's optimizers do), so
        a garbage collection runs first; it is cheap, since :func:`serve` froze every object older than the
        answer itself.
        """
        if self.collect:
            gc.collect()
            self.collect = False
        released, found = [], True
        while found:
            found = False
            for number in list(self.table.objects):
                obj = self.table.objects[number]
                if sys.getrefcount(obj) <= 3:  # the table, this frame and getrefcount's argument
                    del obj
                    self.table.drop(number)
                    released.append(number)
                    found = True
        return released

    def error_reply(self, error: BaseException) -> tuple[str, list]:
        """The reply that tells the checks what the answer raised."""
        if isinstance(error, RuleBroken):
            return "forbidden", [error.api, str(error)]
        cls = type(error)
        builtin = next((c.__name__ for c in cls.__mro__ if c.__module__ == "builtins"), "Exception")
        checks_class = cls if self.table.id_of(cls) is not None else None
        try:
            args = self.encode(tuple(error.args))
        except Exception:  # arguments that cannot cross: the message alone
            args = None
        return "raised", [self.encode(field) for field in (checks_class, builtin, cls.__qualname__,
                                                           _message(error))] + [args]

    def call_back_backward(self, tensor, gradient, retain_graph, create_graph):
        number = self.table.id_of(tensor)
        if number is None:
            raise RuntimeError("backward() works on the loss you were given, not on a tensor computed from it")
        self.reply("backward", [self.encode(field) for field in (number, gradient, retain_graph, create_graph)],
                   released=False)
        kind, failure = self.receive()
        if failure is not None:
            raise RuntimeError(f"the backward pass failed: {failure}")

    def serve(self):
        while True:
            try:
                message = self.receive()
            except EOFError:
                return
            except Exception as error:  # arguments that cannot be rebuilt here: this process cannot go on
                self.reply("unreadable", [f"{type(error).__name__}: {_message(error)}"], released=False)
                return
            try:
                _, op, number, fields = message
                del message
                result = _perform(op, self.handles[number], fields)
                del fields
                kind, body = ("method", []) if result is _METHOD else ("ok", [self.encode(result)])
                del result
            except BaseException as error:  # noqa: BLE001 (whatever the answer raised goes back to the checks)
                kind, body = self.error_reply(error)
            message = fields = result = None  # what the call held is let go before the reply counts references
            self.reply(kind, body)


def _message(error: BaseException) -> str:
    try:
        return str(error)[:2000]
    except Exception:  # a __str__ that fails
        return type(error).__name__


def _perform(op: str, target, fields):
    if op == "call":
        args, kwargs = fields
        return target(*args, **dict(kwargs))
    if op == "getattr":
        value = getattr(target, fields[0])
        return _METHOD if inspect.ismethod(value) and value.__self__ is target else value
    if op == "call method":
        name, args, kwargs = fields
        return getattr(target, name)(*args, **dict(kwargs))
    if op == "setattr":
        return setattr(target, *fields)
    if op == "getitem":
        return target[fields[0]]
    if op == "setitem":
        target[fields[0]] = fields[1]
        return None
    if op == "len":
        return len(target)
    if op == "iter":
        return iter(target)
    if op == "next":
        return next(target)
    if op == "contains":
        return fields[0] in target
    if op == "repr":
        return repr(target)[:300]
    if op == "mro":
        classes = target.__mro__ if isinstance(target, type) else type(target).__mro__
        return isinstance(target, type), [f"{cls.__module__}.{cls.__qualname__}" for cls in classes]
    raise ValueError(f"unknown request {op!r}")


_ANSWER_SIDE: _AnswerSide | None = None


def serve(connection: socket.socket, load_answer, request_limit: int, broken_rules: list, attempts: list = None):
    """Run the answer's end: greet the checks, then answer their requests until they hang up.

    ``load_answer()`` rebuilds the answer; if it raises, every request is told why. ``broken_rules`` is the
    list the exercise's stand-ins append ``[api, message]`` to when the answer calls something forbidden,
    ``attempts`` the one the audit hook appends its descriptions to (:mod:`lrgrader.audit`): both go with every
    reply.
    """
    global _ANSWER_SIDE
    side = _ANSWER_SIDE = _AnswerSide(connection, None, request_limit)
    side.broken_rules, side.attempts = broken_rules, attempts if attempts is not None else []
    try:
        root = load_answer()
    except BaseException as error:  # noqa: BLE001 (a broken answer is reported, not fatal)
        reason = f"{type(error).__name__}: {_message(error)}"
        send_frame(connection, wire.dumps(("unloadable", [reason], [], [], None, broken_rules, side.attempts)))
        while True:  # answer nothing more; the checks report the reason for every check
            try:
                side.receive()
            except EOFError:
                return
    side.handles[ROOT], side.handle_ids = root, {id(root): ROOT}
    gc.freeze()  # torch's and pytest's objects will never be garbage: later collections skip them
    send_frame(connection, wire.dumps(("ready", [], [], [], None, broken_rules, side.attempts)))
    side.serve()
