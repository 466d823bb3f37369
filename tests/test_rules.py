"""The rules of the exercises, enforced where an answer runs: every route to a forbidden API meets a stand-in,
and what the rules allow still works.

Each case runs in a forked process that puts an exercise's stand-ins in place, tries one thing, and reports
whether a rule stopped it (and with which message), so that the stand-ins never reach the test process.
"""

import json
import os
from pathlib import Path

import nbformat
import pytest
import torch
import torch._dynamo  # noqa: F401 (as the grader imports it before any answer's process starts)

from lrgrader import rules
from lrgrader.bridge import RuleBroken

ROOT = Path(__file__).resolve().parents[1]


def attempt(assignment: str, code: str) -> dict:
    """Run ``code`` (which sets ``result``) in a forked process under ``assignment``'s rules; what happened."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        outcome = {}
        try:
            broken = []
            rules.enforce(rules.RULES[assignment], broken)
            namespace = {}
            try:
                exec(code, namespace)
                outcome = {"stopped": False, "result": repr(namespace.get("result"))}
            except RuleBroken as error:
                outcome = {"stopped": True, "message": str(error), "recorded": broken}
            except Exception as error:
                outcome = {"stopped": False, "error": f"{type(error).__name__}: {error}"}
        finally:
            os.write(write_end, json.dumps(outcome).encode())
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as reader:
        data = reader.read()
    os.waitpid(pid, 0)
    return json.loads(data)


CAPTURED_STEP = torch.optim.Adam.step  # captured before the rules, as an answer pickled by reference could be

FORBIDDEN = {
    "ex04, a torch optimizer": ("ex04", "import torch\nresult = torch.optim.Adam([torch.zeros(1)])"),
    "ex04, imported by name": ("ex04", "from torch.optim import AdamW\nresult = AdamW([])"),
    "ex04, the functional update": ("ex04", "from torch.optim.adam import adam\nresult = adam([], [], [], [], [], [])"),
    "ex04, through __subclasses__": ("ex04", "import torch\n"
                                     "Adam = [c for c in torch.optim.Optimizer.__subclasses__() if c.__name__ == 'Adam'][0]\n"
                                     "result = Adam([torch.zeros(1)])"),
    "ex04, a method captured earlier": ("ex04", "import test_rules\nresult = test_rules.CAPTURED_STEP(None)"),
    "ex04, a fresh import": ("ex04", "import importlib, sys\nresult = importlib.reload(sys.modules[\"torch.optim.adam\"])"),
    "ex04, a fused kernel": ("ex04", "import torch\nresult = torch._fused_adamw_([], [], [], [], [], [], lr=1.0, "
                                     "beta1=0.9, beta2=0.9, weight_decay=0.0, eps=1e-8, amsgrad=False, maximize=False)"),
    "ex04, the same kernel through torch.ops": ("ex04", "import torch\nresult = torch.ops.aten._fused_adam_([], [], "
                                                "[], [], [], [], lr=1.0, beta1=0.9, beta2=0.9, weight_decay=0.0, "
                                                "eps=1e-8, amsgrad=False, maximize=False)"),
    "ex03, SGD": ("ex03", "import torch\nresult = torch.optim.SGD([torch.zeros(1)], lr=0.1)"),
    "ex05, a scheduler": ("ex05", "import torch\nfrom torch.optim.lr_scheduler import OneCycleLR\n"
                                  "opt = torch.optim.SGD([torch.zeros(1)], lr=0.1)\n"
                                  "result = OneCycleLR(opt, max_lr=1.0, total_steps=10)"),
    "ex06, SequentialLR": ("ex06", "import torch\nresult = torch.optim.lr_scheduler.SequentialLR("
                                   "torch.optim.SGD([torch.zeros(1)], lr=0.1), [], [])"),
    "ex01, torch": ("ex01", "import torch\nresult = torch.zeros(3)"),
    "ex02, scikit-learn": ("ex02", "from sklearn.preprocessing import StandardScaler\nresult = StandardScaler()"),
    "ex07, torch-lr-finder": ("ex07", "import torch_lr_finder\nresult = torch_lr_finder.LRFinder"),
    "ex08, the course package": ("ex08", "from lrcourse import diagnose\nresult = diagnose"),
    "ex08, ReduceLROnPlateau": ("ex08", "import torch\nresult = torch.optim.lr_scheduler.ReduceLROnPlateau("
                                        "torch.optim.SGD([torch.zeros(1)], lr=0.1))"),
    "ex09, clip_grad_norm_": ("ex09", "import torch\nw = torch.zeros(2, requires_grad=True)\nw.grad = torch.ones(2)\n"
                                      "result = torch.nn.utils.clip_grad_norm_([w], 1.0)"),
    "ex09, get_total_norm": ("ex09", "import torch\nresult = torch.nn.utils.get_total_norm([torch.ones(2)])"),
    "ex09, clip_grads_with_norm_ by name": ("ex09", "import torch\nfrom torch.nn.utils import clip_grads_with_norm_\n"
                                                   "result = clip_grads_with_norm_([], 1.0, torch.tensor(1.0))"),
    "ex09, clip_grad_value_ from its module": ("ex09", "from torch.nn.utils.clip_grad import clip_grad_value_\n"
                                                       "result = clip_grad_value_([], 1.0)"),
    "ex09, scikit-learn": ("ex09", "from sklearn.preprocessing import MinMaxScaler\nresult = MinMaxScaler()"),
}


@pytest.mark.parametrize("case", list(FORBIDDEN))
def test_every_route_to_a_forbidden_api_is_stopped_and_recorded(case):
    assignment, code = FORBIDDEN[case]
    outcome = attempt(assignment, code)
    assert outcome.get("stopped"), outcome
    assert outcome["message"].startswith("this exercise asks"), outcome["message"]
    assert "do not use" in outcome["message"] and outcome["recorded"], outcome


ALLOWED = {
    "ex04, the base class": ("ex04", """
import torch
class Plain(torch.optim.Optimizer):
    def __init__(self, params, lr):
        super().__init__(params, {"lr": lr})
    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                p.add_(p.grad, alpha=-group["lr"])
w = torch.nn.Parameter(torch.ones(2))
opt = Plain([w], lr=0.5)
(w ** 2).sum().backward()
opt.step()
opt.zero_grad()
opt.load_state_dict(opt.state_dict())
result = w.tolist()
"""),
    "ex05, math": ("ex05", "import math\nresult = 0.5 * (1 + math.cos(math.pi / 4))"),
    "ex01, NumPy": ("ex01", "import numpy as np\nresult = float(np.linalg.eigvalsh(np.eye(2)).max())"),
    "ex07, the given optimizer": ("ex07", "import torch\nw = torch.nn.Parameter(torch.ones(1))\n"
                                          "opt = torch.optim.SGD([w], lr=0.1)\n(w * 2).sum().backward()\n"
                                          "opt.step()\nresult = w.item()"),
    "ex09, norms and parameter groups": ("ex09", "import torch\nw = torch.nn.Parameter(torch.ones(2))\n"
                                                 "opt = torch.optim.Adam([{'params': [w], 'lr': 0.1}])\n"
                                                 "(w * 2).sum().backward()\nopt.step()\n"
                                                 "result = torch.linalg.vector_norm(w.grad).item()"),
}


@pytest.mark.parametrize("case", list(ALLOWED))
def test_what_the_rules_allow_still_works(case):
    assignment, code = ALLOWED[case]
    outcome = attempt(assignment, code)
    assert outcome == {"stopped": False, "result": outcome.get("result")} and outcome["result"] != "None", outcome


def test_a_class_that_derives_from_a_forbidden_one_breaks_the_rule():
    broken = []

    class MyAdamW(torch.optim.AdamW):
        def step(self, closure=None):
            return None

    rules.check_subclass(MyAdamW, rules.RULES["ex04"], broken)
    assert broken and "torch.optim.adamw.AdamW (as a base class)" in broken[0][0]
    rules.check_subclass(type("Fine", (torch.optim.Optimizer,), {}), rules.RULES["ex04"], broken := [])
    assert broken == []


@pytest.mark.parametrize("assignment", sorted(rules.RULES))
def test_each_notebook_states_the_rules_its_grader_enforces(assignment):
    """The Rules paragraph names every module the grader forbids (and what it allows back), and says what a
    broken rule costs; every sanity-check cell reminds the student of it."""
    notebook = nbformat.read(next((ROOT / "exercises" / assignment).glob("*.ipynb")), as_version=4)
    stated = next(cell.source for cell in notebook.cells if "**Rules.**" in cell.source).lower()
    for rule in rules.RULES[assignment]:
        for module in (*rule.modules, *rule.keep):
            assert module.lower() in stated, (assignment, module)
    assert "earns 0 points for its item" in " ".join(stated.split())
    checks = [cell.source for cell in notebook.cells
              if cell.metadata.get("nbgrader", {}).get("grade_id", "").endswith("_checks")]
    assert checks and all("the grader also checks that it" in source for source in checks)
