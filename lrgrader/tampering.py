"""Reading a submitted notebook for tampering with the grading: what an instructor should look at.

None of this changes a score (the grader decides every score, out of the kernel's reach); it says why a
submission deserves a look. :func:`code_flags` reads the code of the cells a student may edit and names each
change to something the grading relies on: an attribute of an imported module (``np.allclose = ...``,
``lrgrader.grade = ...``), of ``builtins`` or ``sys``, an entry of ``sys.modules``, or IPython's display and
traceback machinery. :func:`output_flags` names the cells that print what looks like the grader's feedback.
"""

import ast
import re

_FEEDBACK = re.compile(r"\d+ of \d+ checks passed|\d+(\.\d+)? of \d+(\.\d+)? points|^\s*(PASS|FAIL)\s{2}\S",
                       re.MULTILINE)
_IPYTHON_HOOKS = {"for_type", "for_type_by_name", "set_custom_exc", "register", "showtraceback",
                  "showsyntaxerror", "displayhook", "display_formatter", "display_pub"}


def code_flags(notebook) -> list[str]:
    """Why the editable code cells of ``notebook`` look like tampering with grading, one flag per finding."""
    flags = []
    parsed = []
    for number, cell in enumerate(notebook.cells, start=1):
        if cell.cell_type == "code":
            try:
                parsed.append((number, cell.metadata.get("nbgrader", {}), ast.parse(cell.source)))
            except SyntaxError:
                continue
    # A module imported in a read-only cell (``import numpy as np`` above the answers) is as much the grading's
    # as one imported where the student writes.
    modules = {"builtins", "__builtins__", "sys"}
    for _, _, tree in parsed:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules.update(alias.asname or alias.name.partition(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                modules.update(alias.asname or alias.name for alias in node.names)
    for number, meta, tree in parsed:
        if meta.get("locked"):
            continue
        name = meta.get("grade_id", f"number {number}")
        for target in _changed(tree):
            root = _root(target)
            if root in modules or root == "get_ipython()":
                flags.append(f"cell {name} changes {_dotted(target)}")
        for call in (node for node in ast.walk(tree) if isinstance(node, ast.Call)):
            function = call.func
            if isinstance(function, ast.Name) and function.id == "setattr" and call.args \
                    and _root(call.args[0]) in modules:
                flags.append(f"cell {name} changes an attribute of {_dotted(call.args[0])}")
            elif isinstance(function, ast.Attribute) and function.attr in _IPYTHON_HOOKS \
                    and _root(function) == "get_ipython()":
                flags.append(f"cell {name} calls {_dotted(function)}")
    return list(dict.fromkeys(flags))


def output_flags(notebook) -> list[str]:
    """The cells (other than the grader's own) whose printed output looks like the grader's feedback."""
    flags = []
    for number, cell in enumerate(notebook.cells, start=1):
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or meta.get("grade"):
            continue
        printed = "".join(str(output.get("text", "")) for output in cell.get("outputs", [])
                          if output.get("output_type") == "stream")
        if _FEEDBACK.search(printed):
            flags.append(f"cell {meta.get('grade_id', f'number {number}')} prints what looks like the grader's "
                         "feedback")
    return flags


def _changed(tree: ast.AST):
    """Every attribute that ``tree`` assigns, deletes or augments, and every entry of ``sys.modules``."""
    for node in ast.walk(tree):
        targets = (node.targets if isinstance(node, (ast.Assign, ast.Delete)) else
                   [node.target] if isinstance(node, (ast.AugAssign, ast.AnnAssign)) else [])
        for target in targets:
            for part in (target.elts if isinstance(target, (ast.Tuple, ast.List)) else [target]):
                if isinstance(part, ast.Attribute) or (isinstance(part, ast.Subscript)
                                                       and ast.unparse(part.value) == "sys.modules"):
                    yield part


def _root(node: ast.AST) -> str | None:
    """The name an attribute chain starts from (``np`` for ``np.linalg.norm``); ``get_ipython()`` for IPython."""
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "get_ipython":
        return "get_ipython()"
    return None


def _dotted(node: ast.AST) -> str:
    return ast.unparse(node)
