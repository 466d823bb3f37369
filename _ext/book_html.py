"""Two fixes to the book's HTML pages, each for something a reader would otherwise see broken.

- Sphinx 7 prints an inline script that an extension registers after the HTML builder has started
  (sphinx-thebe's and sphinx-togglebutton's settings) twice on every page, and the second
  `const THEBE_JS_URL` is a script error in the reader's console: print each script once.
- Sphinx loads MathJax only on pages with math nodes, so TeX in a bibliography entry's title
  ({$O(1/k^2)$} in references.bib) would stay raw: load it on pages whose citations hold TeX
  (`myst_mathjax_classes` in _config.yml lets MathJax typeset them).
"""

from docutils import nodes


def load_mathjax_for_tex_in_citations(app, pagename, templatename, context, doctree):
    if doctree and any("$" in citation.astext() for citation in doctree.findall(nodes.citation)):
        app.env.get_domain("math").data["has_equations"][pagename] = True


def keep_first_of_each_script(app, pagename, templatename, context, doctree):
    unique = []
    for script in context.get("script_files", []):
        if not any(_same_script(script, kept) for kept in unique):
            unique.append(script)
    context["script_files"] = unique


def _same_script(one, other) -> bool:
    """Sphinx records the missing file name of an inline script as None or as ''."""
    return (one.filename or "") == (other.filename or "") and one.attributes == other.attributes


def setup(app):
    # Before sphinx.ext.mathjax decides whether the page needs MathJax (at the default priority, 500)...
    app.connect("html-page-context", load_mathjax_for_tex_in_citations, priority=400)
    # ...and after every handler that adds a page's own scripts.
    app.connect("html-page-context", keep_first_of_each_script, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
