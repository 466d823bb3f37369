"""A chapter's text kept honest: every measured number in it comes from the output that measured it, and every
claim it makes about the outputs is checked when the page runs.

In a code cell, ``glue("best_lr", best, ".3g")`` records a value, formatted once here; the page's text cites it
as ``{glue:text}`best_lr```, so the number printed in a sentence is the one this run measured, in either
configuration (small on a CPU, large on a GPU). The book build fails on a key that no cell recorded.
``claim(ratio < 3, "the rule lands within 3x of the best rate")`` states what the text says about the outputs;
when this run's outputs contradict it, the cell fails, and the build with it.
"""

class ClaimContradicted(AssertionError):
    """The page's text says something this run's outputs do not bear out."""


def glue(name: str, value, spec: str = "") -> str:
    """Record ``value``, formatted with the format spec ``spec`` (``".3g"``, ``".0%"``, ``","``), for the page's
    text to cite as ``{glue:text}`name```; returns the text. Without myst-nb (a learner's own environment) it only
    returns the text."""
    if hasattr(value, "item"):  # a NumPy or torch scalar formats as the Python number it holds
        value = value.item()
    text = format(value, spec)
    try:
        from myst_nb import glue as record
    except ImportError:  # a learner's notebook outside the course's environment: nothing reads it
        return text
    record(name, text, display=False)
    return text


def claim(holds, statement: str) -> None:
    """Check one statement the text makes about this run's outputs; raise :class:`ClaimContradicted` if it
    does not hold, so that a page cannot say what its outputs contradict."""
    if not bool(holds):
        raise ClaimContradicted(f"the text says {statement!r}, and this run's outputs contradict it; "
                                "rewrite the sentence or glue the value it rests on")
