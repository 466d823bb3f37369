"""The records that cross process boundaries in grading, each one typed: what the checks' process reports, what
the grader answers a kernel, what the ledger and the class command's logs keep, and what the report reads.

Each record is a frozen dataclass that travels as JSON and is read back with :meth:`from_json`, which checks
every field's type: a record is never printed text parsed back, and a malformed one is an error, not a guess.
"""

import json
import types
import typing
from dataclasses import asdict, dataclass, field, fields


class RecordError(ValueError):
    """A record that does not have the fields and types it should."""


@dataclass(frozen=True)
class Requirement:
    """One thing a graded item asks for (its behaviour, its contract, its handling of bad input), with the share
    of the item's points it carries, in percent: the share is earned only when every check of the requirement
    passes. A suite declares its requirements as ``REQUIREMENTS = {key: (title, share)}``, shares summing to 100."""
    key: str
    title: str
    share: int


@dataclass(frozen=True)
class Check:
    """One hidden check: its name in the feedback, whether it passed, why not, the CPU seconds it took (the
    checks' and the answer's together), and the key of the requirement it checks."""
    name: str
    passed: bool
    message: str = ""
    cpu_seconds: float = 0.0
    requirement: str = ""


def met(requirement: Requirement, checks: tuple[Check, ...]) -> bool:
    for check in checks:
        if check.requirement == requirement.key and not check.passed:
            return False
    return True


def earned(points: float, requirements: tuple[Requirement, ...], checks: tuple[Check, ...]) -> float:
    """The points a graded item earns: the shares of the requirements whose every check passed.

    Plain loops, no builtins: a student's kernel computes this for its grade cell, and a notebook may have
    replaced ``sum`` or ``all`` there (the class command takes the score from the grader's ledger, and flags
    any difference, so a tampered kernel must not make an honest cell look tampered)."""
    if not checks:
        return 0.0
    share = 0
    for requirement in requirements:
        if met(requirement, checks):
            share += requirement.share
    return round(points * share / 100, 2)


@dataclass(frozen=True)
class Verdict:
    """The grader's verdict on one graded item (``"ex01/gd_step"``) of one submission.

    ``problem`` says why no check could count (the suite ran out of time, crashed, or the answer could not be
    taken); ``broken_rules`` names what the answer used that its exercise forbids; ``attempts`` what it tried
    to do that grading does not allow (read the suites, write outside its folder, reach the network...). Any of
    them gives 0 points. ``crashes`` counts the calls during which the answer's process ended (a segfault,
    ``os._exit``): those checks failed, and the instructor may want to look.
    """
    item: str
    points: float
    checks: tuple[Check, ...] = ()
    problem: str | None = None
    broken_rules: tuple[str, ...] = ()
    attempts: tuple[str, ...] = ()
    crashes: int = 0
    requirements: tuple[Requirement, ...] = ()

    @property
    def passed(self) -> int:
        return sum(check.passed for check in self.checks)

    @property
    def score(self) -> float:
        if self.problem or self.broken_rules or self.attempts:
            return 0.0
        return earned(self.points, self.requirements, self.checks)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> "Verdict":
        data = _object(text)
        checks = data.get("checks")
        if not isinstance(checks, list):
            raise RecordError("a verdict's checks must be a list")
        data["checks"] = tuple(_build(Check, check) for check in checks)
        data["requirements"] = _requirements(data.get("requirements"))
        for name in ("broken_rules", "attempts"):
            data[name] = _strings(data.get(name), name)
        if isinstance(data.get("points"), int) and not isinstance(data.get("points"), bool):
            data["points"] = float(data["points"])
        return _build(cls, data)


@dataclass(frozen=True)
class SuiteRun:
    """What the checks' process reports of one run of a suite: the checks it collected, each one's result, what
    went wrong if the run could not finish, and what the answer's process reported using or trying."""
    collected: int
    checks: tuple[Check, ...] = ()
    problem: str | None = None
    broken_rules: tuple[str, ...] = ()
    attempts: tuple[str, ...] = ()
    crashes: int = 0
    requirements: tuple[Requirement, ...] = ()

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> "SuiteRun":
        data = _object(text)
        data["checks"] = tuple(_build(Check, check) for check in _typed(data.get("checks"), list, "checks"))
        data["requirements"] = _requirements(data.get("requirements"))
        for name in ("broken_rules", "attempts"):
            data[name] = _strings(data.get(name), name)
        return _build(cls, data)


@dataclass(frozen=True)
class KernelAttempt:
    """What the audit hook of a student's kernel saw the notebook try (sent to the grader, kept in its ledger)."""
    attempt: str

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> "KernelAttempt":
        return _build(cls, _object(text))


@dataclass(frozen=True)
class Request:
    """A kernel's request to the grader: run the suite of ``item`` on the answer that follows (``size`` bytes)."""
    item: str
    size: int

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> "Request":
        return _build(cls, _object(text))


@dataclass(frozen=True)
class Outcome:
    """How grading one student's submission of an assignment went, as the class command logs it: why it was
    flagged (empty if it was not), how long it took, the grader's verdict on every item it ran, the digest of
    the files it graded, and whether its grades reached the gradebook (a rerun grades what has none)."""
    student: str
    flags: tuple[str, ...] = ()
    seconds: float = 0.0
    verdicts: tuple[Verdict, ...] = field(default=())
    submission: str = ""
    graded: bool = True

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> "Outcome":
        data = _object(text)
        data["flags"] = tuple(_typed(data.get("flags"), list, "flags"))
        data["verdicts"] = tuple(Verdict.from_json(json.dumps(verdict))
                                 for verdict in _typed(data.get("verdicts"), list, "verdicts"))
        if isinstance(data.get("seconds"), int):
            data["seconds"] = float(data["seconds"])
        return _build(cls, data)


def _object(text: str) -> dict:
    try:
        data = json.loads(text)
    except (TypeError, ValueError) as error:
        raise RecordError(f"not a JSON record ({error})") from None
    if not isinstance(data, dict):
        raise RecordError("a record must be a JSON object")
    return data


def _requirements(value) -> tuple[Requirement, ...]:
    return tuple(_build(Requirement, entry) for entry in _typed(value, list, "requirements"))


def _strings(value, name: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise RecordError(f"{name} must be a list of strings")
    return tuple(value)


def _typed(value, kind, name: str):
    if not isinstance(value, kind):
        raise RecordError(f"{name} must be a {kind.__name__}")
    return value


def _build(cls, data):
    """``cls(**data)``, after checking that ``data`` has exactly its fields, each of its declared type."""
    if not isinstance(data, dict):
        raise RecordError(f"a {cls.__name__} must be a JSON object")
    names = {f.name for f in fields(cls)}
    if set(data) - names:
        raise RecordError(f"a {cls.__name__} has no field {sorted(set(data) - names)[0]!r}")
    record = cls(**data)
    for f in fields(cls):
        if not _has_type(getattr(record, f.name), f.type):
            raise RecordError(f"{cls.__name__}.{f.name} should be {f.type}, not {getattr(record, f.name)!r}")
    return record


def _has_type(value, annotation) -> bool:
    origin = typing.get_origin(annotation)
    if origin is tuple:
        return isinstance(value, tuple)
    if origin in (types.UnionType, typing.Union):
        return any(_has_type(value, option) for option in typing.get_args(annotation))
    if annotation is type(None):
        return value is None
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, annotation)
