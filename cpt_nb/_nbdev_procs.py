"""nbdev notebook processors for the documentation build only; not part of cpt_nb's API.

Written by hand, not exported from a notebook: nbdev imports it while it processes the notebooks for
the site (settings.ini's `procs`, read by `nbdev.processors.FilterDefaults.xtra_procs`), after
nbdev's own processors: after `exec_show_docs` has saved the widget state of the docs build and
`add_links` has linked the names it knows. Its leading underscore keeps it out
of nbdev's symbol index (`_modidx.py`). It imports nothing outside the standard library, so the wheel
needs no new requirement.
"""

import re

__all__ = ['WIDGET_VIEW', 'WIDGET_STATE', 'saved_widget_ids', 'widget_image_fallback', 'is_private', 'unlink_private']

WIDGET_VIEW = 'application/vnd.jupyter.widget-view+json'
WIDGET_STATE = 'application/vnd.jupyter.widget-state+json'
# what Quarto shows of an output once the widget view is gone: the first of these it finds (text/html
# first, as in Quarto's own order for HTML); an output with none of them keeps its view
FALLBACKS = ('text/html', 'image/svg+xml', 'image/png', 'image/jpeg')


def saved_widget_ids(metadata) -> set:
    "The model ids whose state a notebook's `metadata` saves (what a page can draw without a kernel)."
    widgets = (metadata or {}).get('widgets') or {}
    return set(((widgets.get(WIDGET_STATE) or {}).get('state') or {}))


class widget_image_fallback:
    """Drop the widget view of each output whose widget state the notebook does not save, where the
    output has a picture beside it.

    Quarto prefers a widget view to every other representation of an output in an HTML page; without
    the widget's saved state the page draws nothing there. Without the view it shows the output's
    picture (cpt_nb's widgets display a PNG of their figure beside the view: `viz.FigureBox`)."""
    def __init__(self, nb): self.nb = nb
    def begin(self): self.saved = saved_widget_ids(self.nb.get('metadata'))

    def __call__(self, cell):
        for out in cell.get('outputs') or []:
            data = out.get('data') or {}
            view = data.get(WIDGET_VIEW)
            if view is None or (view.get('model_id') in self.saved): continue
            if any(k in data for k in FALLBACKS): del data[WIDGET_VIEW]


_XREF = re.compile(r'\[(`([^`\s]+?)(?:\(\))?`)\]\([^)\s]+\)')  # what nbdev's `add_links` makes of `name`


def is_private(name:str) -> bool:
    "Is the last part of a dotted `name` private (`_x`, not `__x__`)?"
    last = name.split('.')[-1]
    return last.startswith('_') and not last.startswith('__')


def _unlink(text:str) -> str: return _XREF.sub(lambda m: m.group(1) if is_private(m.group(2)) else m.group(0), text)


def unlink_private(cell):
    """Put back as plain code the links nbdev's `add_links` made to private names.

    nbdev links every backticked name its index knows, private helpers included, to an entry that the
    site never renders (nbdev documents public names only)."""
    if cell.get('cell_type') == 'markdown' and cell.get('source'): cell['source'] = _unlink(cell['source'])
    for out in cell.get('outputs') or []:
        md = (out.get('data') or {}).get('text/markdown')
        if isinstance(md, list): out['data']['text/markdown'] = [_unlink(line) for line in md]
        elif isinstance(md, str): out['data']['text/markdown'] = _unlink(md)
