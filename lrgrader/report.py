"""The report of an assignment graded by the class command: one self-contained HTML page (figures inlined as PNG,
nothing fetched) and a summary for the terminal.

Everything in it comes from typed records: the scores from the gradebook, and which hidden checks each student
passed from the grader's verdicts that the class command logs (``logs/<assignment>/<student>.json``, one
:class:`lrgrader.records.Outcome` each), never from what a notebook printed, which a student could forge.

Besides the score distributions it holds an item analysis of the hidden checks: for each check, the share of
students who missed it and its discrimination, the pass rate among the stronger half of the class (by total
score) minus that among the weaker half. A check that most strong students pass and most weak ones miss
separates them (discrimination near 1): those are what the report shows first. A check that everyone passes or
everyone misses tells nothing about who understood; one with a negative discrimination deserves a look.
"""

import base64
import html
import io
import statistics
from dataclasses import dataclass
from pathlib import Path

from matplotlib.figure import Figure
from nbgrader.api import Gradebook

from lrgrader.records import Outcome, RecordError

CHART_CHECKS = 12  # the checks the chart shows; the table below it lists them all
COLOURS = ("#0072B2", "#009E73", "#D55E00")  # Okabe and Ito's colour-blind-safe palette


@dataclass(frozen=True)
class CheckResults:
    """One hidden check across the class: who missed it, and how well it separates stronger from weaker students."""
    item: str
    name: str
    miss_rate: float
    discrimination: float | None  # None for a class too small to split in halves


@dataclass(frozen=True)
class ItemResults:
    """One graded item (its grade cell) across the class."""
    name: str
    points: float
    scores: tuple[float, ...]
    checks: tuple[CheckResults, ...]


def read_outcomes(course: Path, assignment: str) -> dict[str, Outcome]:
    """The logged outcome of every student graded so far, by student (unreadable logs are skipped)."""
    outcomes = {}
    for path in sorted((course / "logs" / assignment).glob("*.json")):
        try:
            outcome = Outcome.from_json(path.read_text())
        except (RecordError, OSError):
            continue
        outcomes[outcome.student] = outcome
    return outcomes


def item_results(course: Path, url: str, assignment: str) -> tuple[dict[str, float], list[ItemResults]]:
    """Every student's total score and, per graded item, its scores and the results of its hidden checks.

    A student whose answer ran no check of an item (the function missing, the suite stopped, a rule broken)
    counts as missing all of that item's checks.
    """
    totals, cells = {}, {}
    with Gradebook(url) as gradebook:
        for submission in gradebook.assignment_submissions(assignment):
            totals[submission.student.id] = submission.score
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    cells.setdefault(grade.name, (grade.max_score, {}))[1][submission.student.id] = grade.score
    outcomes = read_outcomes(course, assignment)
    ranked = sorted(totals, key=lambda student: totals[student])
    halves = (ranked[len(ranked) - len(ranked) // 2:], ranked[:len(ranked) // 2]) if len(ranked) >= 4 else None
    items = []
    for cell, (points, scores) in cells.items():
        item = f"{assignment}/{cell.removesuffix('_graded')}"
        passed = {student: set() for student in totals}
        names = []
        for student, outcome in outcomes.items():
            for verdict in outcome.verdicts:
                if verdict.item != item:
                    continue
                names += [check.name for check in verdict.checks if check.name not in names]
                if student in passed and not verdict.problem and not verdict.broken_rules:
                    passed[student] = {check.name for check in verdict.checks if check.passed}
        checks = tuple(CheckResults(cell.removesuffix("_graded"), name,
                                    sum(name not in got for got in passed.values()) / len(passed),
                                    None if halves is None else
                                    _pass_rate(name, halves[0], passed) - _pass_rate(name, halves[1], passed))
                       for name in names)
        items.append(ItemResults(cell, points, tuple(scores[student] for student in sorted(scores)), checks))
    return totals, items


def _pass_rate(check: str, students: list[str], passed: dict[str, set]) -> float:
    return sum(check in passed[student] for student in students) / len(students)


def separating_checks(items: list[ItemResults]) -> list[CheckResults]:
    """The checks that some students pass and others miss, those that separate stronger from weaker students
    first (then the most missed)."""
    checks = [check for item in items for check in item.checks if 0 < check.miss_rate < 1]
    return sorted(checks, key=lambda check: (-(check.discrimination or 0), -check.miss_rate, check.item, check.name))


def summary(assignment: str, totals: dict[str, float], items: list[ItemResults], flags: dict[str, tuple]) -> str:
    """A few lines to read in the terminal: scores, the checks that separate students, the flagged submissions."""
    if not totals:
        return f"{assignment}: no submission in the gradebook"
    points = sum(item.points for item in items)
    scores = list(totals.values())
    lines = [f"{assignment}: {len(scores)} submissions, mean {statistics.mean(scores):.2f} of {points:g} points, "
             f"median {statistics.median(scores):.2f}; {sum(s == points for s in scores)} full marks, "
             f"{sum(s == 0 for s in scores)} zero"]
    separating = separating_checks(items)[:3]
    if separating:
        lines.append("checks that separate students most: " + "; ".join(
            f"{check.item}: {check.name} (missed by {check.miss_rate:.0%})" for check in separating))
    lines.append(f"flagged: {len(flags)}" + "".join(f"\n  {student}: {'; '.join(why)}" for student, why in flags.items()))
    return "\n".join(lines)


def write_report(course: Path, url: str, assignment: str, path: Path) -> str:
    """Write the report of ``assignment`` to ``path``; return its summary, for the terminal."""
    totals, items = item_results(course, url, assignment)
    flags = {student: outcome.flags for student, outcome in read_outcomes(course, assignment).items()
             if outcome.flags}
    text = summary(assignment, totals, items, flags)
    with Gradebook(url) as gradebook:
        course_totals = {a.name: (a.max_score, [s.score for s in gradebook.assignment_submissions(a.name)])
                         for a in gradebook.assignments}
    course_totals = {name: value for name, value in course_totals.items() if value[1]}
    name = html.escape(assignment)
    body = [f"<h1>Grading report: {name}</h1>", f"<pre>{html.escape(text)}</pre>"]
    if course_totals:
        body.append("<h2>Total scores, every assignment graded so far</h2>")
        body.append(_histograms(
            [(title, points, scores) for title, (points, scores) in course_totals.items()], COLOURS[0],
            "Histograms of the total score of every assignment with submissions: " + "; ".join(
                f"{title}, {len(s)} submissions, mean {statistics.mean(s):.2f} of {p:g}"
                for title, (p, s) in course_totals.items())))
    if totals:
        body.append(f"<h2>{name}: the score of each graded item</h2>")
        body.append(_histograms(
            [(item.name.removesuffix("_graded"), item.points, list(item.scores)) for item in items], COLOURS[1],
            "Histograms of the score of each graded item: " + "; ".join(
                f"{item.name}, mean {statistics.mean(item.scores):.2f} of {item.points:g}" for item in items)))
    every = [check for item in items for check in item.checks]
    if every:
        body.append(f"<h2>{name}: the hidden checks that separate students</h2>")
        body.append(_separating_chart(separating_checks(items)[:CHART_CHECKS]))
        body.append(_checks_table(every))
    body.append(f"<h2>{name}: flagged submissions ({len(flags)})</h2>")
    rows = "".join(f"<tr><td>{html.escape(student)}</td><td>{'<br>'.join(html.escape(f) for f in why)}</td></tr>"
                   for student, why in flags.items())
    body.append(f"<table><tr><th>student</th><th>why</th></tr>{rows}</table>" if flags else "<p>None.</p>")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Grading report: {name}"
                    f"</title><style>{_STYLE}</style></head><body>{''.join(body)}</body></html>")
    return text


_STYLE = ("body{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em}img{max-width:100%}"
          "pre{white-space:pre-wrap;overflow-wrap:anywhere}table{border-collapse:collapse;width:100%}"
          "td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top;overflow-wrap:anywhere}"
          "td.number{text-align:right;white-space:nowrap}")


def _separating_chart(checks: list[CheckResults]) -> str:
    if not checks:
        return "<p>Every check was passed by every student, or missed by every student: none separates them.</p>"
    labels = [_short(f"{check.item}: {check.name}") for check in checks]
    figure = Figure(figsize=(8, 1.0 + 0.32 * len(checks)), layout="constrained")
    ax = figure.subplots()
    ax.barh(range(len(checks)), [100 * check.miss_rate for check in checks], color=COLOURS[2])
    for row, check in enumerate(checks):
        if check.discrimination is not None:
            ax.annotate(f"D = {check.discrimination:+.2f}", (100 * check.miss_rate, row), xytext=(4, 0),
                        textcoords="offset points", va="center", fontsize="small")
    ax.set(yticks=range(len(checks)), xlim=(0, 115), xlabel="% of students who did not pass the check",
           title="The checks that best separate stronger from weaker submissions")
    ax.set_yticklabels(labels, fontsize="small")
    ax.invert_yaxis()
    return _inlined(figure, "Bar chart of the share of students missing each of the checks that best separate "
                            "stronger from weaker students, with each check's discrimination D: " + "; ".join(
                                f"{label} missed by {check.miss_rate:.0%}"
                                + ("" if check.discrimination is None else f", D {check.discrimination:+.2f}")
                                for label, check in zip(labels, checks)))


def _checks_table(checks: list[CheckResults]) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(check.item)}</td><td>{html.escape(check.name)}</td>"
        f"<td class='number'>{check.miss_rate:.0%}</td><td class='number'>"
        f"{'' if check.discrimination is None else f'{check.discrimination:+.2f}'}</td></tr>"
        for check in sorted(checks, key=lambda check: (check.item, -check.miss_rate, check.name)))
    return (f"<details><summary>Every hidden check ({len(checks)}): who missed it, and its discrimination D (the "
            "pass rate of the stronger half of the class minus that of the weaker half)</summary><table><tr>"
            f"<th>item</th><th>check</th><th>missed</th><th>D</th></tr>{rows}</table></details>")


def _short(label: str, width: int = 70) -> str:
    return label if len(label) <= width else f"{label[:46]}...{label[-(width - 49):]}"


def _histograms(panels: list[tuple[str, float, list[float]]], colour: str, alt: str) -> str:
    """One histogram of scores per (title, points, scores), three to a row, as an inlined figure."""
    columns = min(len(panels), 3)
    rows = -(-len(panels) // columns)
    figure = Figure(figsize=(3.2 * columns, 2.6 * rows), layout="constrained")
    axes = list(figure.subplots(rows, columns, squeeze=False).flat)
    for ax, (title, points, scores) in zip(axes, panels):
        ax.hist(scores, bins=10, range=(0, points or 1), color=colour, edgecolor="white")
        ax.set(title=title, xlabel=f"score (of {points:g})", ylabel="students")
        ax.yaxis.get_major_locator().set_params(integer=True)
    for ax in axes[len(panels):]:  # the rest of the last row
        ax.set_visible(False)
    return _inlined(figure, alt)


def _inlined(figure: Figure, alt: str) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    return (f"<figure><img alt='{html.escape(alt, quote=True)}' "
            f"src='data:image/png;base64,{base64.b64encode(buffer.getvalue()).decode()}'></figure>")
