"""What each exercise forbids its answers to use, and the stand-ins that enforce it where the answer runs.

Each exercise's notebook states its rule (under **Rules**, at the top); :data:`RULES` says the same to the
grader. In the answer's process (:mod:`lrgrader.answer`), before the answer is loaded, :func:`enforce` puts
stand-ins in place of everything a rule forbids:

- every function and every method of every class defined in a forbidden module has its code replaced in place,
  so that a name captured before grading (``step = torch.optim.Adam.step``), a subclass, or a class found
  through ``Optimizer.__subclasses__()`` all reach the stand-in;
- a forbidden package not yet imported (scikit-learn, the course's own package) cannot be imported, nor can a
  forbidden module be imported or reloaded afresh;
- a forbidden package that the process had already imported whole (torch, for the NumPy-only exercises) is
  replaced in ``sys.modules`` by a module that refuses every attribute.

A stand-in raises :class:`lrgrader.bridge.RuleBroken` (not an ``Exception``: the answer's ``except Exception``
does not swallow it) with a sentence that says what is off limits, and records the use: the grader then gives
the item no points and flags it for the instructor, whichever check made the call.
"""

import importlib.abc
import sys
import types
from dataclasses import dataclass

from lrgrader.bridge import RuleBroken


@dataclass(frozen=True)
class Rule:
    """One thing an exercise forbids: ``modules`` (each with everything inside it, but ``keep``) and ``names``
    (single callables, given as ``module.attribute``), said in words by ``what``; ``why`` opens the message."""
    what: str
    why: str
    modules: tuple[str, ...] = ()
    keep: tuple[str, ...] = ()
    names: tuple[str, ...] = ()

    def covers(self, module: str) -> bool:
        inside = lambda roots: any(module == root or module.startswith(root + ".") for root in roots)  # noqa: E731
        return inside(self.modules) and not inside(self.keep)


_NUMPY_ONLY = Rule("anything but NumPy (torch, SciPy, scikit-learn)", "this exercise asks for NumPy only",
                   modules=("torch", "scipy", "sklearn"))
_FUSED = tuple(f"torch.{name}" for name in ("_fused_adam_", "_fused_adamw_", "_fused_sgd_", "_fused_adagrad_"))
_SCHEDULERS = Rule("torch.optim.lr_scheduler", "this exercise asks you to compute the schedule yourself",
                   modules=("torch.optim.lr_scheduler", "torch.optim.swa_utils"))
RULES: dict[str, tuple[Rule, ...]] = {
    "ex01": (_NUMPY_ONLY,),
    "ex02": (_NUMPY_ONLY,),
    "ex03": (Rule("torch.optim.SGD", "this exercise asks you to write the update yourself",
                  modules=("torch.optim.sgd",), names=("torch._fused_sgd_",)),),
    "ex04": (Rule("torch.optim (all but its base class torch.optim.Optimizer)",
                  "this exercise asks you to write the update yourself",
                  modules=("torch.optim",), keep=("torch.optim.optimizer",), names=_FUSED),),
    "ex05": (_SCHEDULERS,),
    "ex06": (_SCHEDULERS,),
    "ex07": (Rule("a finder library (lrcourse.finder, torch_lr_finder)",
                  "this exercise asks you to write the range test and its rules yourself",
                  modules=("lrcourse.finder", "torch_lr_finder")),),
    "ex08": (Rule("the course package lrcourse", "this exercise asks you to write the diagnosis yourself",
                  modules=("lrcourse",)), _SCHEDULERS),
    "ex09": (Rule("torch.nn.utils.clip_grad (clip_grad_norm_, clip_grad_value_, clip_grads_with_norm_, "
                  "get_total_norm)", "this exercise asks you to clip the gradients yourself",
                  modules=("torch.nn.utils.clip_grad",)),
             Rule("scikit-learn (sklearn)", "this exercise asks you to scale the features yourself",
                  modules=("sklearn",))),
}


def rules_for(item: str) -> tuple[Rule, ...]:
    """The rules of the assignment of ``item`` (``"ex04/AdamW"``); none for an assignment without any."""
    return RULES.get(item.partition("/")[0], ())


def forbidden_roots(rules: tuple[Rule, ...]) -> list[str]:
    """The top-level packages some rule forbids whole (their folders need not even be readable)."""
    return [module for rule in rules for module in rule.modules if "." not in module and not rule.keep]


class _Enforcer:
    def __init__(self, rules: tuple[Rule, ...], broken: list):
        self.rules, self.broken = rules, broken
        self.stand_ins: dict[str, Rule] = {}  # the qualified name each stand-in's code carries, and its rule

    def forbid_caller(self):
        """What a replaced function's code calls: the stand-in is the frame above, its code names the API."""
        api = sys._getframe(1).f_code.co_qualname
        self.forbid(api, self.stand_ins[api])

    def forbid(self, api: str, rule: Rule):
        """What every stand-in does: record the use and stop the answer."""
        message = f"{rule.why}: do not use {api} (off limits here: {rule.what})"
        if [api, message] not in self.broken:
            self.broken.append([api, message])
        raise RuleBroken(api, message)

    def rule_of(self, module: str) -> Rule | None:
        return next((rule for rule in self.rules if rule.covers(module)), None)


class _ImportBlocker(importlib.abc.MetaPathFinder):
    """Refuses to find a forbidden module, so that it can be neither imported nor reloaded."""

    def __init__(self, enforcer: _Enforcer):
        self.enforcer = enforcer

    def find_spec(self, name, path=None, target=None):
        rule = self.enforcer.rule_of(name)
        if rule is not None:
            self.enforcer.forbid(name, rule)
        return None


class _RefusingModule(types.ModuleType):
    """Stands in for a forbidden package that was already imported: every attribute is a broken rule."""

    def __init__(self, name: str, enforcer: _Enforcer, rule: Rule):
        super().__init__(name)
        self.__dict__["_refusal"] = (enforcer, rule)

    def __getattr__(self, attribute):
        enforcer, rule = self.__dict__["_refusal"]
        enforcer.forbid(f"{self.__name__}.{attribute}", rule)


def enforce(rules: tuple[Rule, ...], broken: list):
    """Put the stand-ins of ``rules`` in place in this process; uses of them are appended to ``broken``."""
    enforcer = _Enforcer(rules, broken)
    sys.meta_path.insert(0, _ImportBlocker(enforcer))
    whole = forbidden_roots(rules)
    for name in sorted(sys.modules):
        rule = enforcer.rule_of(name)
        module = sys.modules[name]
        if rule is None or not isinstance(module, types.ModuleType):
            continue
        if name.partition(".")[0] in whole:
            sys.modules[name] = _RefusingModule(name, enforcer, rule)
        else:
            _neutralize_module(module, enforcer, rule)
    for rule in rules:
        for qualified in rule.names:
            owner_name, _, attribute = qualified.rpartition(".")
            owner = sys.modules.get(owner_name)
            if owner is not None and hasattr(owner, attribute):
                for holder in _holders(owner):
                    setattr(holder, attribute, _StandIn(qualified, enforcer, rule))


def _holders(owner) -> list:
    """The namespaces that offer one of torch's builtin functions: ``torch`` and ``torch.ops.aten``.

    (``torch._C._VariableFunctions`` offers them too, but its attributes cannot be replaced.)
    """
    return [owner, owner.ops.aten] if owner.__name__ == "torch" else [owner]


def check_subclass(answer, rules: tuple[Rule, ...], broken: list):
    """A class answer that derives from a forbidden class breaks the rule even if it overrides every method."""
    if not isinstance(answer, type):
        return
    enforcer = _Enforcer(rules, broken)
    for cls in answer.__mro__[1:]:
        rule = enforcer.rule_of(cls.__module__)
        if rule is not None:
            try:
                enforcer.forbid(f"{cls.__module__}.{cls.__qualname__} (as a base class)", rule)
            except RuleBroken:
                return


def _neutralize_module(module: types.ModuleType, enforcer: _Enforcer, rule: Rule):
    for value in list(vars(module).values()):
        if getattr(value, "__module__", None) != module.__name__:
            continue
        if isinstance(value, type):
            _neutralize_class(value, enforcer, rule)
        elif isinstance(value, types.FunctionType):
            _neutralize_function(value, f"{module.__name__}.{value.__qualname__}", enforcer, rule)


def _neutralize_class(cls: type, enforcer: _Enforcer, rule: Rule):
    for name, member in list(vars(cls).items()):
        functions = []
        if isinstance(member, (staticmethod, classmethod)):
            functions = [member.__func__]
        elif isinstance(member, property):
            functions = [f for f in (member.fget, member.fset, member.fdel) if f is not None]
        elif isinstance(member, types.FunctionType):
            functions = [member]
        for function in functions:
            _neutralize_function(function, f"{cls.__module__}.{cls.__qualname__}.{name}", enforcer, rule)


_TEMPLATES: dict[int, types.CodeType] = {}


def _neutralize_function(function: types.FunctionType, api: str, enforcer: _Enforcer, rule: Rule):
    """Replace ``function``'s code, in place, by a stand-in's; do the same to the functions it wraps (a
    decorator's closure), so that none of the original code stays reachable."""
    if getattr(function, "__lrgrader_stand_in__", False):
        return
    cells = function.__closure__ or ()
    function.__code__ = _template(len(cells)).replace(co_name=function.__name__, co_qualname=api)
    function.__defaults__, function.__kwdefaults__ = None, None
    enforcer.stand_ins[api] = rule
    function.__globals__["__lrgrader_forbid__"] = enforcer.forbid_caller
    function.__lrgrader_stand_in__ = True
    wrapped = [getattr(function, "__wrapped__", None)]
    for cell in cells:
        try:
            wrapped.append(cell.cell_contents)
        except ValueError:
            continue
        cell.cell_contents = None
    for inner in wrapped:
        if isinstance(inner, types.FunctionType):
            _neutralize_function(inner, api, enforcer, rule)


def _template(free: int) -> types.CodeType:
    """The code of a stand-in with ``free`` free variables (a function's code can only be replaced by code that
    has as many)."""
    if free not in _TEMPLATES:
        names = [f"v{index}" for index in range(free)]
        source = ("def outer():\n" + "".join(f"    {name} = None\n" for name in names)
                  + "    def stand_in(*args, **kwargs):\n        __lrgrader_forbid__()\n"
                  + f"        return ({', '.join(names)}{',' if names else ''})\n    return stand_in\n")
        namespace = {}
        exec(compile(source, "<lrgrader stand-in>", "exec"), namespace)
        _TEMPLATES[free] = namespace["outer"]().__code__
    return _TEMPLATES[free]


class _StandIn:
    """Stands in for one of torch's builtin functions: calling it breaks the rule; its attributes (the
    overloads of an operator, ``.default``) are stand-ins too, so that torch's own code can still name them."""

    def __init__(self, api: str, enforcer: _Enforcer, rule: Rule):
        self._api, self._enforcer, self._rule = api, enforcer, rule

    def __call__(self, *args, **kwargs):
        self._enforcer.forbid(self._api, self._rule)

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        return _StandIn(f"{self._api}.{name}", self._enforcer, self._rule)
