"""Write README.md from nbs/index.ipynb (or, with --check, fail when they differ).

nbdev's own `nbdev_readme` needs Quarto, which cannot be installed on our machines, so this script
does the same job for the cells a landing page uses: markdown cells as they are, code cells as
fenced Python, and their text output as fenced text (markdown output as markdown). Cells marked
`#| hide` are left out, a cell marked `#| echo: false` shows its output alone, and nbdev directives
(`#| ...`) are dropped from the code shown.
"""
import argparse, json, re, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEADER = "<!-- Generated from nbs/index.ipynb by tools/make_readme.py: edit the notebook, not this file. -->\n\n"


def _text(source): return ''.join(source) if isinstance(source, list) else source


def _output_text(out):
    if out.get('output_type') == 'stream': return _text(out.get('text', ''))
    data = out.get('data', {})
    if 'text/markdown' in data: return None  # rendered below as markdown
    return _text(data.get('text/plain', '')) if out.get('output_type') in ('execute_result', 'display_data') else ''


def render(nb:dict) -> str:
    "Markdown for the notebook `nb` (a parsed .ipynb)."
    parts = []
    for cell in nb['cells']:
        src = _text(cell['source']).rstrip()
        if cell['cell_type'] == 'markdown':
            if src: parts.append(src)
            continue
        if cell['cell_type'] != 'code': continue
        directives = re.findall(r'^\s*#\|\s*(\w+)', src, flags=re.M)
        if 'hide' in directives or 'include' in src and re.search(r'#\|\s*include:\s*false', src): continue
        code = '\n'.join(l for l in src.splitlines() if not re.match(r'\s*#\|', l)).strip()
        if code and not re.search(r'#\|\s*echo:\s*false', src): parts.append(f"```python\n{code}\n```")  # echo: false shows the output alone
        for out in cell.get('outputs', []):
            md = out.get('data', {}).get('text/markdown')
            txt = _output_text(out)
            if md is not None: parts.append(_text(md).rstrip())
            elif txt and txt.strip(): parts.append(f"```\n{txt.rstrip()}\n```")
    return HEADER + '\n\n'.join(parts) + '\n'


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--check', action='store_true', help="fail if README.md is not up to date")
    args = p.parse_args(argv)
    nb = json.loads((ROOT/'nbs'/'index.ipynb').read_text(encoding='utf-8'))
    want, readme = render(nb), ROOT/'README.md'
    if args.check:
        if not readme.exists() or readme.read_text(encoding='utf-8') != want:
            print("FAILED: README.md differs from nbs/index.ipynb; run `python tools/make_readme.py`", file=sys.stderr)
            return 1
        return 0
    readme.write_text(want, encoding='utf-8')
    return 0


if __name__ == '__main__': sys.exit(main())
