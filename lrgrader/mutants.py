"""Mutation testing of the hidden suites: the wrong answers each suite fails, and what they cost.

    python -m lrgrader mutants [ASSIGNMENT ...] [--workers N] [--json PATH]

A hidden suite is only as good as the wrong answers it fails. For every graded item this module makes wrong
answers out of the instructor's own (the answer cells of ``solutions/<assignment>/``):

- **generated mutants**, one small change at one place of the answer cell: an arithmetic operator swapped, a
  comparison's boundary moved or its sense reversed, ``and`` for ``or``, a ``not`` or a minus sign dropped, a
  number changed, a statement removed, a copy or a conversion dropped (``x.clone()`` becomes ``x``). Docstrings,
  strings and the messages of raised errors are left alone;
- **hand-written mistakes** (``[[mistake]]`` in ``hidden/<assignment>/mutants.toml``): the errors students make
  that no operator makes (a missing bias correction, settings honoured for the first parameter group only, an
  answer that special-cases the sanity checks' inputs), each naming the requirement of the suite it breaks;
  an item graded by what its answer achieves (a rate chosen, a curve read: ``[[outcome_graded]]``, with why)
  gets these only, since a number moved in a strategy rarely makes a worse strategy;

then grades each one with the item's hidden suite, as the grader grades a submission (:func:`lrgrader.server.run_item`:
the answer in a process of its own, the same limits and rules), and sorts it:

- **killed**: some check fails;
- **weak**: killed, but by one check only, and keeping at least :data:`WEAK_SHARE` of the item's points;
- **survived**: every check passes. A survivor listed as ``[[equivalent]]`` in ``mutants.toml`` (with why it
  computes what the solution computes) is an equivalent program, not a hole in the suite; any other is a hole.

The report gives, per item and per assignment, the mutants killed, weak and survived, and the points lost by the
median hand-written core-behaviour mistake (one that breaks a requirement of kind ``behaviour``). The command
exits with status 1 when a mutant that is not listed as equivalent survives, or an ``[[equivalent]]`` entry
names no mutant (the solution changed: look again).
"""

import argparse
import ast
import copy
import json
import multiprocessing
import os
import statistics
import sys
import time
import tomllib
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path

import cloudpickle

from lrgrader import suites
from lrgrader.instructor import assignments, notebook_cells, solution_answers
from lrgrader.records import Verdict

WEAK_SHARE = 0.9  # a mutant killed by one check and keeping this share of the points or more is weak
SOLUTION = "the instructor's answer"  # graded first, as a control: it must earn every point


@dataclass(frozen=True)
class Mutant:
    """A wrong answer to one graded item: ``source`` replaces the item's answer cell.

    ``name`` identifies it: ``"12:8 - for +"`` (line and column in the cell, what changed) for a generated one,
    the mistake's own name for a hand-written one, whose ``requirement`` names the requirement it breaks.
    """
    item: str
    name: str
    source: str
    line: str = ""
    requirement: str | None = None


@dataclass(frozen=True)
class Result:
    """A mutant's fate: ``"killed"``, ``"weak"`` or ``"survived"`` (``"equivalent"`` if listed so), the points it
    kept of the item's (None where its suite stopped at the first failed check), and the checks that failed."""
    mutant: Mutant
    fate: str
    score: float | None
    points: float
    failed: tuple[str, ...]

    @property
    def lost(self) -> float | None:
        """The share of the item's points the mistake cost (None where not measured)."""
        return None if self.score is None else 1 - self.score / self.points


# ---------------------------------------------------------------- generated mutants

_BINARY = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult, ast.Pow: ast.Mult,
           ast.FloorDiv: ast.Div}
_COMPARE = {ast.Lt: (ast.LtE, ast.GtE), ast.LtE: (ast.Lt, ast.Gt), ast.Gt: (ast.GtE, ast.LtE),
            ast.GtE: (ast.Gt, ast.Lt), ast.Eq: (ast.NotEq,), ast.NotEq: (ast.Eq,), ast.Is: (ast.IsNot,),
            ast.IsNot: (ast.Is,), ast.In: (ast.NotIn,), ast.NotIn: (ast.In,)}
_SYMBOL = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**", ast.FloorDiv: "//",
           ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!=", ast.Is: "is",
           ast.IsNot: "is not", ast.In: "in", ast.NotIn: "not in", ast.And: "and", ast.Or: "or"}
_COPIES = {"clone", "copy", "detach", "deepcopy"}  # x.clone(), copy.deepcopy(x): dropped, x is shared
_CONVERSIONS = {"float", "int", "list", "tuple", "array", "asarray", "as_tensor", "tensor"}  # float(x): x


def _protected(tree: ast.AST) -> set[int]:
    """The nodes no mutation touches: docstrings, and everything inside a ``raise`` (an error's message)."""
    keep = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)) and ast.get_docstring(node):
            keep.add(id(node.body[0]))
        if isinstance(node, ast.Raise) and node.exc is not None:
            keep.update(id(inner) for inner in ast.walk(node.exc))
    return keep


def _changes(node: ast.AST, protected: set[int]) -> Iterator[tuple[str, Callable[[ast.AST], ast.AST | None]]]:
    """The mutations of one node: (what changes, a function that changes a copy of the node in place or returns
    its replacement)."""
    if id(node) in protected:
        return
    if isinstance(node, (ast.BinOp, ast.AugAssign)) and type(node.op) in _BINARY:
        new = _BINARY[type(node.op)]
        yield f"{_SYMBOL[type(node.op)]} becomes {_SYMBOL[new]}", lambda n, new=new: setattr(n, "op", new())
    if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _COMPARE:
        for new in _COMPARE[type(node.ops[0])]:
            yield (f"{_SYMBOL[type(node.ops[0])]} becomes {_SYMBOL[new]}",
                   lambda n, new=new: setattr(n, "ops", [new()]))
    if isinstance(node, ast.BoolOp):
        new = ast.Or if isinstance(node.op, ast.And) else ast.And
        yield f"{_SYMBOL[type(node.op)]} becomes {_SYMBOL[new]}", lambda n, new=new: setattr(n, "op", new())
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.Not, ast.USub)):
        yield f"{'not' if isinstance(node.op, ast.Not) else 'the minus sign'} dropped", lambda n: n.operand
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        new = node.value + 1 if type(node.value) is int else (node.value * 2 if node.value else 1.0)
        yield f"{node.value!r} becomes {new!r}", lambda n, new=new: setattr(n, "value", new)
    if isinstance(node, ast.Constant) and type(node.value) is bool:
        yield f"{node.value} becomes {not node.value}", lambda n: setattr(n, "value", not n.value)
    if isinstance(node, ast.Call):
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        if name in _COPIES and isinstance(node.func, ast.Attribute) and not node.args and name != "deepcopy":
            yield f".{name}() dropped", lambda n: n.func.value
        elif name in _COPIES | _CONVERSIONS and len(node.args) == 1 and not any(
                isinstance(arg, ast.Starred) for arg in node.args):
            yield f"{name}(...) dropped", lambda n: n.args[0]


def _statement_removals(node: ast.AST, protected: set[int]) -> Iterator[tuple[str, Callable]]:
    """Removing a statement (an assignment, a call, a ``raise``) from a block: it becomes ``pass``."""
    for field in ("body", "orelse", "finalbody"):
        block = getattr(node, field, None)
        if not isinstance(block, list):
            continue
        for index, statement in enumerate(block):
            if id(statement) in protected or not isinstance(
                    statement, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Expr, ast.Raise)):
                continue
            what = "raise" if isinstance(statement, ast.Raise) else "statement"
            yield (f"{what} removed", statement.lineno, statement.col_offset,
                   lambda n, field=field, index=index: getattr(n, field).__setitem__(index, ast.Pass()))


def generated(item: str, source: str) -> list[Mutant]:
    """Every generated mutant of ``source``, the answer cell of ``item``, that still compiles."""
    tree = ast.parse(source)
    nodes = list(ast.walk(tree))
    protected = _protected(tree)
    lines = source.splitlines()
    plans = []
    for index, node in enumerate(nodes):
        for what, change in _changes(node, protected):
            plans.append((index, node.lineno, node.col_offset, what, change, False))
        for what, line, column, change in _statement_removals(node, protected):
            plans.append((index, line, column, what, change, True))
    mutants, seen = [], {ast.unparse(tree)}
    for index, line, column, what, change, in_block in plans:
        mutated = copy.deepcopy(tree)
        target = list(ast.walk(mutated))[index]
        replacement = change(target)
        if replacement is not None and not in_block:
            _replace(mutated, target, replacement)
        ast.fix_missing_locations(mutated)
        text = ast.unparse(mutated)
        if text in seen:
            continue
        seen.add(text)
        compile(text, item, "exec")
        mutants.append(Mutant(item, f"{line}:{column} {what}", text, lines[line - 1].strip()))
    return mutants


def _replace(tree: ast.AST, old: ast.AST, new: ast.AST):
    """Put ``new`` where ``old`` is in ``tree``."""
    for parent in ast.walk(tree):
        for field, value in ast.iter_fields(parent):
            if value is old:
                setattr(parent, field, new)
                return
            if isinstance(value, list) and any(entry is old for entry in value):
                value[[entry is old for entry in value].index(True)] = new
                return
    raise LookupError("the node to replace is not in the tree")


# ---------------------------------------------------------------- hand-written mistakes and equivalents


def mutants_file(assignment: str) -> Path:
    return suites.suites_folder() / assignment / "mutants.toml"


def _entries(assignment: str) -> dict:
    path = mutants_file(assignment)
    return tomllib.loads(path.read_text()) if path.is_file() else {}


def handwritten(assignment: str) -> list[Mutant]:
    """The ``[[mistake]]`` entries of the assignment's mutants.toml, each applied to the instructor's answer.

    A mistake names its ``item`` (the answer cell), a ``name``, the ``requirement`` it breaks and either a
    whole new answer cell (``source``) or replacements in the instructor's (``replace``: a list of
    ``[old, new]`` pairs, each ``old`` found exactly once)."""
    answers, mutants = solution_answers(assignment), []
    for entry in _entries(assignment).get("mistake", []):
        name, source = entry["item"], entry.get("source")
        if source is None:
            source = answers[name]
            for old, new in entry["replace"]:
                if source.count(old) != 1:
                    raise ValueError(f"mistake {entry['name']!r} of {assignment}/{name}: {old!r} is found "
                                     f"{source.count(old)} times in the solution, not once")
                source = source.replace(old, new)
        compile(source, entry["name"], "exec")
        mutants.append(Mutant(f"{assignment}/{name}", entry["name"], source, requirement=entry["requirement"]))
    return mutants


def outcome_graded(assignment: str) -> set[str]:
    """The items listed as ``[[outcome_graded]]``: graded by what the answer achieves on the grader's tasks, so
    that their wrong answers are the weak strategies written by hand, not generated ones."""
    return {f"{assignment}/{entry['item']}" for entry in _entries(assignment).get("outcome_graded", [])}


def equivalents(assignment: str) -> dict[tuple[str, str], str]:
    """(item, mutant name) of every mutant listed as equivalent, and why."""
    return {(f"{assignment}/{entry['item']}", entry["name"]): entry["why"]
            for entry in _entries(assignment).get("equivalent", [])}


# ---------------------------------------------------------------- grading


def answer_of(assignment: str, mutant: Mutant, item: str) -> bytes:
    """The pickled answer to ``item`` once ``mutant``'s cell has run: the assignment's imports and every
    instructor answer, then the mutant's cell over them, as a notebook would run them."""
    namespace = {"__name__": "lrgrader_mutant"}
    for source in _notebook_code(assignment):
        exec(source, namespace)
    exec(mutant.source, namespace)
    return cloudpickle.dumps(namespace[item.partition("/")[2]])


def helper_users(assignment: str) -> dict[str, list[str]]:
    """For each answer cell, the other items whose answers call a helper defined in it (a function or class of
    the cell other than its item): a mutant of the cell is graded with their suites too."""
    answers = solution_answers(assignment)
    used = {name: {node.id for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Name)}
            for name, source in answers.items()}
    users = {}
    for name, source in answers.items():
        helpers = {node.name for node in ast.parse(source).body
                   if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name != name}
        users[name] = [f"{assignment}/{other}" for other in answers if other != name and helpers & used[other]]
    return users


@cache
def _notebook_code(assignment: str) -> tuple[str, ...]:
    """The assignment's imports cell and every instructor answer, in order: read once per process, not per mutant."""
    imports = "\n".join(cell.source for cell in notebook_cells(assignment)
                        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("grade_id") == "imports")
    return (imports, *solution_answers(assignment).values())


def _quiet():
    """A worker's initializer: what pytest prints in the checks' processes goes nowhere, as in the grader."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)


class MutationError(RuntimeError):
    """Grading could not judge a mutant: the suite or the grader is at fault, not the mutant."""


def _grade(assignment: str, mutant: Mutant, item: str, first_failure: bool) -> Verdict:
    from lrgrader.server import run_item

    return run_item(item, answer_of(assignment, mutant, item), first_failure=first_failure)


def sort(mutant: Mutant, verdict: Verdict, equivalent: bool, partial: bool = False) -> Result:
    """The fate of ``mutant`` from its verdict; ``partial`` if the suite stopped at the first failed check, which
    is then not weak (see :func:`decided`) and whose score was not measured."""
    if verdict.problem and "tell your instructor" in verdict.problem:
        raise MutationError(f"{mutant.item} [{mutant.name}]: {verdict.problem}")
    failed = tuple(check.name for check in verdict.checks if not check.passed)
    if verdict.problem or verdict.broken_rules or verdict.attempts:
        failed += (verdict.problem or "broke the rules",)
    if not failed:
        fate = "equivalent" if equivalent else "survived"
    elif len(failed) == 1 and not partial and verdict.score >= WEAK_SHARE * verdict.points:
        fate = "weak"
    else:
        fate = "killed"
    return Result(mutant, fate, None if partial and failed else verdict.score, verdict.points, failed)


def decided(verdict: Verdict) -> bool:
    """Whether a verdict of a suite stopped at its first failed check settles the mutant's fate: it does unless
    the requirement that failed carries so small a share that the mutant might still be weak."""
    failed = [check.requirement for check in verdict.checks if not check.passed]
    shares = {requirement.key: requirement.share for requirement in verdict.requirements}
    return not failed or bool(verdict.problem) or shares.get(failed[0], 0) > 100 * (1 - WEAK_SHARE)


def run(chosen: Sequence[str], workers: int, progress: bool = True) -> list[Result]:
    """Make and grade every mutant of every item of the ``chosen`` assignments, ``workers`` at a time.

    The instructor's answers and the hand-written mistakes run every check (the points a mistake costs are
    part of the report). A generated mutant's suite stops at its first failed check, as mutation testing
    tools do, and runs again in full only when that check's requirement is too small to settle whether the
    mutant is weak. A mutant that its own item's suite lets through, in a cell whose helpers other items'
    answers call, is graded with their suites too, and is killed if any of them kills it.
    """
    from tqdm import tqdm

    from lrgrader import server

    server.one_thread_each()
    server.import_for(None if len(chosen) > 1 else chosen[0])
    full, quick, users = [], [], {}  # jobs: (assignment, mutant, the item whose suite grades it)
    for assignment in chosen:
        for name, source in solution_answers(assignment).items():
            item = f"{assignment}/{name}"
            full.append((assignment, Mutant(item, SOLUTION, source), item))
            if item not in outcome_graded(assignment):
                quick += [(assignment, mutant, item) for mutant in generated(item, source)]
        full += [(assignment, mutant, mutant.item) for mutant in handwritten(assignment)]
        users.update({f"{assignment}/{name}": items for name, items in helper_users(assignment).items()})
    listed = {key: why for assignment in chosen for key, why in equivalents(assignment).items()}
    # Forked workers inherit what import_for imported; none of them has started a thread.
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"), initializer=_quiet) as pool:
        def grade(jobs, first_failure):
            return list(tqdm(pool.map(_grade, *zip(*jobs), [first_failure] * len(jobs)) if jobs else [],
                             total=len(jobs), disable=not progress, unit="mutant",
                             desc=f"grading mutants{' to their first failed check' if first_failure else ''}"))

        verdicts = dict(zip(full + quick, grade(full, False) + grade(quick, True)))
        # A survivor of its own suite whose change is in a helper: graded with the suites of the items that call it.
        more = [(assignment, mutant, other) for assignment, mutant, item in quick
                if not _failed(verdicts[(assignment, mutant, item)]) for other in users[item]]
        verdicts.update(zip(more, grade(more, True)))
        quick += more
        again = [job for job in quick if not decided(verdicts[job])]
        verdicts.update(zip(again, grade(again, False)))
    for (_, mutant, _), verdict in verdicts.items():
        if mutant.name == SOLUTION and verdict.score != verdict.points:
            raise MutationError(f"the instructor's answer to {mutant.item} earns {verdict.score:g} of "
                                f"{verdict.points:g} points: {verdict.problem or 'some check fails'}")
    # Each mutant's verdict: the first suite that fails it, else its own item's.
    chosen_job = {}
    for job in full + quick:
        if job[1].name != SOLUTION and (job[1] not in chosen_job or (
                not _failed(verdicts[chosen_job[job[1]]]) and _failed(verdicts[job]))):
            chosen_job[job[1]] = job
    stopped = set(quick) - set(again)
    return [sort(mutant, verdicts[job], (mutant.item, mutant.name) in listed, partial=job in stopped)
            for mutant, job in chosen_job.items()]


def _failed(verdict: Verdict) -> bool:
    return bool(verdict.problem or verdict.broken_rules or verdict.attempts) or not all(
        check.passed for check in verdict.checks)


# ---------------------------------------------------------------- the report


def summary(results: Sequence[Result]) -> dict:
    """Counts of each fate, and the median share of points lost by a hand-written core-behaviour mistake."""
    counts = {fate: sum(result.fate == fate for result in results)
              for fate in ("killed", "weak", "survived", "equivalent")}
    core = [result.lost for result in results
            if result.mutant.requirement and result.mutant.requirement.startswith("behaviour")]
    return {"mutants": len(results), **counts, "core_mistakes": len(core),
            "median_core_lost": statistics.median(core) if core else None,
            "least_core_lost": min(core) if core else None}


def report(results: Sequence[Result], chosen: Sequence[str]) -> str:
    """The report: one line per item and per assignment, then every weak or surviving mutant."""
    lines = [f"{'item':<32}{'mutants':>8}{'killed':>8}{'weak':>6}{'survived':>9}{'equiv.':>7}"
             f"{'core lost (median, least)':>28}"]

    def row(label, group):
        counts = summary(group)
        core = ("" if counts["median_core_lost"] is None else
                f"{counts['median_core_lost']:.0%}, {counts['least_core_lost']:.0%} of {counts['core_mistakes']}")
        return (f"{label:<32}{counts['mutants']:>8}{counts['killed']:>8}{counts['weak']:>6}{counts['survived']:>9}"
                f"{counts['equivalent']:>7}{core:>28}")

    for assignment in chosen:
        mine = [result for result in results if result.mutant.item.startswith(f"{assignment}/")]
        for item in dict.fromkeys(result.mutant.item for result in mine):
            lines.append(row(item, [result for result in mine if result.mutant.item == item]))
        lines.append(row(f"{assignment} (all)", mine))
    lines.append(row("every assignment", results))
    for result in results:
        if result.fate in ("weak", "survived"):
            lines.append(f"{result.fate.upper():>9} {result.mutant.item} [{result.mutant.name}] "
                         f"{result.mutant.line} keeps {result.score:g} of {result.points:g}"
                         + (f"; fails only: {result.failed[0]}" if result.failed else ""))
    return "\n".join(lines)


def stale_equivalents(results: Sequence[Result], chosen: Sequence[str]) -> list[str]:
    """Entries of ``[[equivalent]]`` that name no mutant made today, or one that some check fails."""
    survivors = {(result.mutant.item, result.mutant.name) for result in results if result.fate == "equivalent"}
    return [f"{item} [{name}]" for assignment in chosen for item, name in equivalents(assignment)
            if (item, name) not in survivors]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lrgrader mutants", description=__doc__.split("\n\n")[0])
    parser.add_argument("assignments", nargs="*", metavar="ASSIGNMENT", help="default: every assignment")
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--json", type=Path, help="also write every mutant's result to this file")
    args = parser.parse_args(argv)
    chosen = args.assignments or assignments()
    started = time.perf_counter()
    try:
        results = run(chosen, args.workers, progress=sys.stderr.isatty())
    except MutationError as error:
        print(f"mutation testing stopped: {error}")
        return 2
    print(report(results, chosen))
    print(f"{len(results)} mutants graded in {time.perf_counter() - started:.0f} s on {args.workers} workers")
    if args.json:
        args.json.write_text(json.dumps([asdict(result) for result in results], indent=1))
    stale = stale_equivalents(results, chosen)
    for entry in stale:
        print(f"listed as equivalent, but no such mutant survives today: {entry}")
    return 1 if stale or any(result.fate == "survived" for result in results) else 0


if __name__ == "__main__":
    sys.exit(main())
