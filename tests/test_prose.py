"""The notebooks read as documentation, not as lab notes, and every pointer in them leads somewhere.

* no markdown paragraph over `MAX_WORDS` words (a Markdown table or a fenced block is not a paragraph);
* no date in markdown, and none of the phrases that tell how a result came about (that is the git log's job);
* every relative link points at a page of the site and, when it names one, at a heading of that page
  (or an API entry on it); a "see the ... chapter/section/table" is itself a link;
* every API entry nbdev renders shows its own name in its signature and a docstring of its own (not
  Python's "Call self as a function.").

The checks are functions of a folder of notebooks, so that they can be run on an older checkout.
"""
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NBS = ROOT/'nbs'
MAX_WORDS = 100
DATE = re.compile(r'\b20\d\d-(0[1-9]|1[0-2])(-[0-3]\d)?\b')
LAB_NOTES = re.compile(r"this\s+changed\s+a\s+default|the\s+default\s+then|will\s+confirm\s+or\s+correct"
                       r"|ran\s+beside\s+(two\s+)?other\s+jobs|in\s+earlier\s+versions|the\s+first\s+records'", re.I)
LINK = re.compile(r'(!?)\[((?:[^\[\]]|\[[^\]]*\])*)\]\(([^)\s]+)\)')
POINTER = re.compile(r"\bsee\s+(the|its|their)\s+[\w`'\s-]{0,40}?\b(chapter|tutorial|section|table)\b"
                     r"|\b(measurements?|figures?|numbers?)\s+(below|above)\b|\bas\s+measured\s+(above|below)\b", re.I)
TEST_FILTER = re.compile(r'tools/test\.sh[^`\n]*?-k\s+([\w.]+)')


def notebooks(folder:Path=NBS) -> list[Path]:
    return sorted(p for p in folder.glob('*.ipynb') if not p.name.startswith(('_', '.')))


def _cells(nb:Path) -> list[dict]: return json.loads(nb.read_text(encoding='utf-8'))['cells']
def _src(cell:dict) -> str: return ''.join(cell['source'])


def _markdown(nb:Path) -> list[tuple[int, str]]:
    "Each markdown cell's index and text, fenced blocks removed."
    return [(i, re.sub(r'```.*?```', '', _src(c), flags=re.S)) for i, c in enumerate(_cells(nb)) if c['cell_type'] == 'markdown']


def paragraphs(text:str) -> list[str]:
    "The paragraphs of markdown `text`: blocks between blank lines (a list without blank lines is one block), Markdown tables left out."
    blocks = [b.strip() for b in re.split(r'\n\s*\n', text)]
    return [b for b in blocks if b and not all(l.lstrip().startswith('|') for l in b.splitlines())]


def long_paragraphs(folder:Path=NBS) -> list[str]:
    return [f"{nb.name} cell {i}: {len(p.split())} words: {p[:60]!r}" for nb in notebooks(folder) for i, text in _markdown(nb)
            for p in paragraphs(text) if len(p.split()) > MAX_WORDS]


def lab_notes(folder:Path=NBS) -> list[str]:
    return [f"{nb.name} cell {i}: {m.group()!r}" for nb in notebooks(folder) for i, text in _markdown(nb)
            for m in [*DATE.finditer(text), *LAB_NOTES.finditer(text)]]


def page(nb:Path) -> str:
    "The site page a notebook becomes: its name without the number (`10_run.ipynb` -> `run.html`)."
    return re.sub(r'^\d+_', '', nb.stem) + '.html'


def slug(heading:str) -> str:
    "The anchor Quarto (pandoc) gives a heading: formatting and links dropped, lower case, spaces to '-', only letters, digits, '_', '-', '.'."
    text = LINK.sub(lambda m: m.group(2), heading).replace('`', '').replace('*', '').strip().lower()
    text = re.sub(r'[^\w\s.-]', '', text)
    return re.sub(r'\s+', '-', text)


def anchors(nb:Path) -> set[str]:
    "The anchors of a notebook's page: its headings, and its API entries (the names its exported cells define or `show_doc` shows)."
    found = set()
    for c in _cells(nb):
        src = _src(c)
        if c['cell_type'] == 'markdown':
            found |= {slug(h) for h in re.findall(r'^#{1,6}\s+(.+?)\s*$', re.sub(r'```.*?```', '', src, flags=re.S), re.M)}
        elif re.match(r'#\|\s*export', src):
            found |= {n.lower() for n in re.findall(r'^(?:def|class)\s+(\w+)', src, re.M)}
            found |= {f"{cls}.{fn}".lower() for fn, cls in re.findall(r'^@patch[^\n]*\ndef (\w+)\(self:(\w+)', src, re.M)}
        found |= {n.lower() for n in re.findall(r"show_doc\(([\w.]+)", src)}
        found |= {n.lower() for n in re.findall(r"show_doc\([^)]*name=['\"]([\w.]+)['\"]", src)}
    return found


def broken_links(folder:Path=NBS) -> list[str]:
    pages = {page(nb): nb for nb in notebooks(folder)}
    bad = []
    for nb in notebooks(folder):
        for i, text in _markdown(nb):
            for image, _, target in LINK.findall(text):
                if re.match(r'[a-z]+:', target): continue  # https:, mailto:: another site
                name, _, anchor = target.partition('#')
                if image or not (name == '' or name.endswith('.html')):  # a file beside the notebooks
                    if not (folder/name).exists(): bad.append(f"{nb.name} cell {i}: {target} (no such file)")
                    continue
                to = pages.get(name) if name else nb
                if to is None: bad.append(f"{nb.name} cell {i}: {target} (no page {name})")
                elif anchor and anchor not in anchors(to): bad.append(f"{nb.name} cell {i}: {target} (no heading #{anchor} on {page(to)})")
            for name in TEST_FILTER.findall(text):  # `tools/test.sh -k NAME` selects notebooks by name
                if not any(name in p.stem for p in notebooks(folder)): bad.append(f"{nb.name} cell {i}: -k {name} (no notebook matches)")
    return bad


def unlinked_pointers(folder:Path=NBS) -> list[str]:
    "Each 'see the ... chapter' (section, table, tutorial) that is not inside a link's text or followed at once by a link."
    bad = []
    for nb in notebooks(folder):
        for i, text in _markdown(nb):
            linked = [(m.start(2), m.end(2)) for m in LINK.finditer(text)]
            for m in POINTER.finditer(text):
                inside = any(a <= m.start() < b or a < m.end() <= b for a, b in linked)
                follows = re.match(r'\s*\(?\[', text[m.end():]) or re.match(r"[\w']*\s*\]", text[m.end():])
                if not (inside or follows): bad.append(f"{nb.name} cell {i}: {m.group()!r}")
    return bad


def api_defects(processed:Path) -> list[str]:
    "API entries whose signature names another function, or whose docstring is Python's default for a callable."
    bad = []
    for nb in sorted(processed.glob('*.ipynb')):
        for c in _cells(nb):
            for o in c.get('outputs', []):
                md = ''.join(o.get('data', {}).get('text/markdown', ''))
                entry = re.search(r'^#{2,4} (\S+)\s*$', md, re.M)
                if not entry: continue
                sig = re.search(r'^```python\n(?:@\w+\n)?(?:def|class)\s+(\w+)', md, re.M)
                name = entry.group(1).rpartition('.')[2]
                if sig and sig.group(1) != name: bad.append(f"{nb.name}: {entry.group(1)} shows the signature of {sig.group(1)}")
                if 'Call self as a function.' in md: bad.append(f"{nb.name}: {entry.group(1)} has no docstring of its own")
    return bad


def test_no_long_paragraphs():
    bad = long_paragraphs()
    assert not bad, f"markdown paragraphs over {MAX_WORDS} words (split or cut them):\n" + '\n'.join(bad)


def test_no_dates_or_lab_notes():
    bad = lab_notes()
    assert not bad, "dates or lab notes in markdown (state what is true now; history is the git log's):\n" + '\n'.join(bad)


def test_links_resolve():
    bad = broken_links()
    assert not bad, "links to no page or no heading:\n" + '\n'.join(bad)


def test_pointers_are_links():
    bad = unlinked_pointers()
    assert not bad, "pointers a reader cannot follow (make them links):\n" + '\n'.join(bad)


def test_api_pages_render(processed_docs):
    bad = api_defects(processed_docs)
    assert not bad, "API entries that render wrong:\n" + '\n'.join(bad)


def test_the_checks_can_fail(tmp_path):
    "Each check finds the defect it is for, in a notebook made to have it."
    cell = lambda s, kind='markdown': dict(cell_type=kind, id='x', metadata={}, source=s, **({} if kind == 'markdown' else dict(outputs=[], execution_count=None)))
    nb = dict(cells=[cell('# T\n\n## Under the hood: fused kernels\n\n' + 'word ' * 101 + '\n\n* ' + 'item ' * 60 + '\n* ' + 'item ' * 60), cell('Measured 2026-12-06; this changed a default.'),
                     cell('[a](quant.html) [b](t.html#under-the-hood-fused-kernels) [c](t.html#nowhere) [d](nothing.html) [e](#under-the-hood-fused-kernels)'),
                     cell('For more, see\nthe calibration chapter. Or see [the layers chapter](t.html). Run `bash tools/test.sh -k 11_tutorial`.')],
              metadata={}, nbformat=4, nbformat_minor=5)
    (tmp_path/'00_t.ipynb').write_text(json.dumps(nb))
    assert len(long_paragraphs(tmp_path)) == 2  # a list without blank lines between its items is one paragraph
    assert [b.split(': ', 1)[1] for b in lab_notes(tmp_path)] == ["'2026-12-06'", "'this changed a default'"]
    assert [b.split(': ', 1)[1] for b in broken_links(tmp_path)] == ['quant.html (no page quant.html)', 't.html#nowhere (no heading #nowhere on t.html)',
                                                                   'nothing.html (no page nothing.html)', '-k 11_tutorial (no notebook matches)']
    assert [b.split(': ', 1)[1] for b in unlinked_pointers(tmp_path)] == ["'see\\nthe calibration chapter'"]
    proc = tmp_path/'proc'; proc.mkdir()
    out = lambda md: dict(data={'text/markdown': md}, output_type='execute_result', metadata={}, execution_count=None)
    doc = cell('show_doc(x)', 'code'); doc['outputs'] = [out('---\n\n### A.alias\n\n```python\ndef _real(\n)\n```\n\n*Call self as a function.*')]
    (proc/'t.ipynb').write_text(json.dumps(dict(nb, cells=[doc])))
    assert api_defects(proc) == ['t.ipynb: A.alias shows the signature of _real', 't.ipynb: A.alias has no docstring of its own']
