"""The bridge between the checks and an answer in another process: values, identity, write-back, time limits.

Each test starts real answer's processes (forked here, without the grader's confinement, which
tests/test_grading.py covers) and talks to them through :class:`lrgrader.bridge.ChecksSide`.
"""

import os
import pickle
import socket
import time

import numpy as np
import pytest
import torch

from lrgrader import bridge, wire


def connect(answer):
    """A ChecksSide whose answer's processes are forked here and serve ``answer``."""
    pids = []

    def start():
        ours, theirs = socket.socketpair()
        pid = os.fork()
        if pid == 0:
            ours.close()
            try:
                bridge.serve(theirs, lambda: answer, 2**30, [])
            finally:
                os._exit(0)
        theirs.close()
        pids.append(pid)
        return ours, pid

    side = bridge.ChecksSide(start, 2**30)
    yield side
    side.stop()
    for pid in pids:
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass


@pytest.fixture
def bridged(request):
    """``bridged(answer)``: the answer's handle, as a check receives it."""
    sides = []

    def make(answer):
        generator = connect(answer)
        side = next(generator)
        sides.append(generator)
        return side.root

    yield make
    for generator in sides:
        next(generator, None)


class AlwaysEqual(float):
    def __eq__(self, other):
        return True

    __hash__ = float.__hash__


def test_results_come_back_as_exact_builtin_types(bridged):
    def answer(x):
        return AlwaysEqual(x), (1, [2.5, {"a": np.float64(3)}]), np.arange(3.0), torch.ones(2, dtype=torch.float64)

    value, nested, array, tensor = bridged(answer)(2.0)
    assert type(value) is float and value == 2.0 and value != 3.0
    assert nested == (1, [2.5, {"a": 3.0}]) and type(nested[1][1]["a"]) is np.float64
    assert type(array) is np.ndarray and array.tolist() == [0.0, 1.0, 2.0]
    assert type(tensor) is torch.Tensor and tensor.dtype == torch.float64 and tensor.tolist() == [1.0, 1.0]


def test_what_the_answer_changes_in_place_is_written_back(bridged):
    def answer(values, array, tensor, table):
        values.append(4)
        array *= 2
        tensor.add_(1)
        table["new"] = [1]

    values, array, tensor, table = [1], np.ones(3), torch.zeros(2), {}
    assert bridged(answer)(values, array, tensor, table) is None
    assert values == [1, 4] and array.tolist() == [2.0, 2.0, 2.0] and tensor.tolist() == [1.0, 1.0]
    assert table == {"new": [1]}


def test_objects_of_the_checks_come_back_as_themselves(bridged):
    x = np.array([1.0, 2.0])
    same, first = bridged(lambda values: (values, values[0]))([x, "y"])
    assert same[0] is x and first is x


def test_a_callback_runs_with_the_answer_and_its_effects_come_back(bridged):
    calls = []

    def grad(x):
        calls.append(1)
        return 2 * x

    result = bridged(lambda x, grad_fn: x - 0.1 * grad_fn(x))(np.array([1.0]), grad)
    assert result.tolist() == [0.8] and calls == [1]


def test_an_object_of_the_answer_stays_there_and_keeps_the_parameters_it_was_given(bridged):
    class Momentum(torch.optim.Optimizer):
        def __init__(self, params, lr):
            super().__init__(params, {"lr": lr})

        @torch.no_grad()
        def step(self):
            for group in self.param_groups:
                for p in group["params"]:
                    p.add_(p.grad, alpha=-group["lr"])

    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    optimizer = bridged(Momentum)(model.parameters(), lr=0.1)
    assert isinstance(optimizer, bridge.Handle)
    held = optimizer.param_groups[0]["params"]
    assert all(a is b for a, b in zip(held, model.parameters()))
    reference = torch.nn.Linear(3, 1)
    reference.load_state_dict(model.state_dict())
    inputs = torch.randn(8, 3)
    for _ in range(3):
        optimizer.zero_grad()
        model(inputs).pow(2).mean().backward()
        optimizer.step()
        reference.zero_grad()
        reference(inputs).pow(2).mean().backward()
        with torch.no_grad():
            for p in reference.parameters():
                p -= 0.1 * p.grad
    assert torch.allclose(model.weight, reference.weight) and torch.allclose(model.bias, reference.bias)
    assert model.weight.grad is not None


def test_methods_that_return_self_give_the_same_handle(bridged):
    class Scaler:
        def fit(self, x):
            self.mean_ = x.mean()
            return self

    scaler = bridged(Scaler)()
    assert scaler.fit(np.array([1.0, 3.0])) is scaler
    assert scaler.mean_ == 2.0


def test_a_handle_is_no_value(bridged):
    handle = bridged(lambda: object())()
    assert handle != 0 and handle != handle.__class__
    with pytest.raises(TypeError):
        bool(handle)
    assert bridge.mro(bridged(int))[0]


def test_exceptions_keep_their_class_and_message(bridged):
    class LossFailure(Exception):
        pass

    def failing_loss():
        raise LossFailure("from the checks' own callback")

    def answer(kind):
        if kind == "value":
            raise ValueError("lr must be positive")
        if kind == "own":
            class BadRate(ValueError):
                pass
            raise BadRate("too large")
        kind()

    handle = bridged(answer)
    with pytest.raises(ValueError, match="^lr must be positive$"):
        handle("value")
    with pytest.raises(ValueError, match="BadRate: too large"):
        handle("own")
    with pytest.raises(LossFailure, match="own callback"):
        handle(failing_loss)


def test_generators_are_iterated_one_item_at_a_time(bridged):
    def batches(n, rng):
        order = rng.permutation(n)
        for start in range(0, n, 2):
            yield order[start:start + 2]

    rng = np.random.default_rng(0)
    first = [batch.tolist() for batch in bridged(batches)(6, rng)]
    second = [batch.tolist() for batch in bridged(batches)(6, rng)]
    order = np.random.default_rng(0).permutation(6)
    assert first == [order[i:i + 2].tolist() for i in (0, 2, 4)]
    assert first != second, "the generator passed in advances in the checks too"


def test_a_seed_set_by_the_checks_governs_the_answer(bridged):
    draw = bridged(lambda: (torch.rand(2), np.random.rand()))
    torch.manual_seed(5)
    np.random.seed(5)
    first = draw()
    torch.manual_seed(5)
    np.random.seed(5)
    assert [t.tolist() if hasattr(t, "tolist") else t for t in draw()] == [first[0].tolist(), first[1]]
    after = torch.rand(1)
    torch.manual_seed(5)
    torch.rand(2)
    assert after.tolist() == torch.rand(1).tolist(), "the answer's draws advance the checks' generator"


def test_backward_on_a_loss_of_the_checks_runs_in_the_checks(bridged):
    def update(model, optimizer, loss):
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return [p.grad.clone() for p in model.parameters()]

    torch.manual_seed(0)
    model = torch.nn.Linear(2, 1)
    before = model.weight.detach().clone()
    loss = model(torch.ones(1, 2)).sum()
    grads = bridged(update)(model, torch.optim.SGD(model.parameters(), lr=0.1), loss)
    assert grads[0].tolist() == [[1.0, 1.0]]
    assert torch.allclose(model.weight, before - 0.1)


def test_the_answer_forgets_what_it_no_longer_holds(bridged):
    handle = bridged(lambda x: float(x.sum()))
    for _ in range(50):
        handle(np.ones(3))
    side = handle._bridge
    assert len(side._table.objects) < 5


def test_a_check_past_its_cpu_time_is_stopped_and_the_next_one_gets_a_new_process(bridged):
    def answer(spin):
        while spin:
            pass
        return os.getpid()

    handle = bridged(answer)
    first = handle(False)
    side = handle._bridge
    side.begin(bridge.Budget(cpu_seconds=0.5, wall_seconds=30))
    started = time.monotonic()
    with pytest.raises(bridge.CheckTimeout):
        handle(True)
    side.end()
    assert time.monotonic() - started < 10
    assert handle(False) != first


def test_an_answer_that_waits_is_stopped_by_the_wall_clock(bridged):
    handle = bridged(lambda: time.sleep(60))
    handle._bridge.begin(bridge.Budget(cpu_seconds=5, wall_seconds=1))
    with pytest.raises(bridge.CheckTimeout):
        handle()
    handle._bridge.end()


def test_a_crash_is_reported_and_the_next_call_works(bridged):
    def answer(crash):
        if crash:
            os._exit(3)
        return "fine"

    handle = bridged(answer)
    with pytest.raises(bridge.AnswerCrashed):
        handle(True)
    assert handle(False) == "fine"


def fake_answer(reply: bytes):
    """A ChecksSide talking to a process that greets properly, then sends ``reply`` to any request."""
    def start():
        ours, theirs = socket.socketpair()
        pid = os.fork()
        if pid == 0:
            bridge.send_frame(theirs, wire.dumps(("ready", [], [], [], None, [], [])))
            bridge.receive_frame(theirs, 2**30)
            bridge.send_frame(theirs, reply)
            time.sleep(5)
            os._exit(0)
        theirs.close()
        return ours, pid

    return bridge.ChecksSide(start, 2**20)


class Exploit:
    def __reduce__(self):
        return (os.system, ("touch /tmp/lrgrader-exploited",))


@pytest.mark.parametrize("reply", [
    pickle.dumps(("ok", [Exploit()], [], [], None, [], [])),
    wire.dumps(("ok", [("a", "O", [1], b"x" * 8)], [], [], None, [], [])),
    wire.dumps(("ok", [("r", 99)], [], [], None, [], [])),
    wire.dumps(("ok", [("T", "float32", [4], b"1234", False, False, None)], [], [], None, [], [])),
    wire.dumps(("ok", "not a list", [], [], None, [], [])),
    b"\x80\x05 truncated",
], ids=["a pickled object", "an object array", "a reference never made", "a short tensor", "a malformed reply",
        "garbage"])
def test_a_crafted_reply_is_refused_without_running_anything(reply):
    side = fake_answer(reply)
    with pytest.raises(wire.WireError):
        side.root()
    side.stop()
    assert not os.path.exists("/tmp/lrgrader-exploited")


def test_an_oversized_reply_is_refused():
    side = fake_answer(wire.dumps(("ok", [b"x" * 2**21], [], [], None, [], [])))
    with pytest.raises(wire.WireError, match="MB"):
        side.root()
    side.stop()
