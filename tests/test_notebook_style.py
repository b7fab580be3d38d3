"""The notebooks keep the shape the project asks of them (see the README's "Developing").

* every exported cell is at most `MAX_EXPORTED_LINES` lines: one idea per cell, each followed by its
  example and tests;
* every public method, property and class method of an exported class has an entry, under its
  class-qualified name, in the docs that nbdev's notebook processing renders (the docs build short of Quarto; see
  `conftest.processed_docs`);
* the words that compare the library with the code it replaced ("the seed", "the guide", ...)
  appear only in the one section that makes that comparison.
"""
import importlib, inspect, json, re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NBS = ROOT/'nbs'
NOTEBOOKS = sorted(p for p in NBS.glob('*.ipynb') if not p.name.startswith(('_', '.')))
MAX_EXPORTED_LINES = 50
COMPAT_HEADING = '## Compatibility with the original CPT-LoRA code'
HISTORY = re.compile(r"\bthe seed's|\bseed guide\b|\bthe guide\b|\bin the seed\b|\bthe seed (system|code|implementation|project)"
                     r"|\bsystem we rebuil|\bthe original system\b", re.I)
NOT_DOCUMENTED = {'extra_repr',  # nn.Module's printing hook
                  # the events a Learner calls on its callbacks (documented as a table in the training chapter),
                  # and torch's state_dict protocol, which they and the data loader follow
                  'before_fit', 'before_epoch', 'before_step', 'after_backward', 'after_step', 'after_epoch',
                  'after_interrupt', 'after_fit', 'state_dict', 'load_state_dict',
                  # the Hugging Face Trainer's callback events, which CPTCallback implements (documented by transformers)
                  'on_train_begin', 'on_step_begin', 'on_log', 'on_train_end'}


def _cells(nb:Path) -> list[dict]: return json.loads(nb.read_text(encoding='utf-8'))['cells']
def _src(cell:dict) -> str: return ''.join(cell['source'])
def _is_exported(cell:dict) -> bool: return cell['cell_type'] == 'code' and bool(re.match(r'#\|\s*export\b', _src(cell)))


def _module_name(nb:Path) -> str|None:
    m = re.search(r'^#\|\s*default_exp\s+(\S+)', '\n'.join(_src(c) for c in _cells(nb)), re.M)
    return m.group(1) if m else None


@pytest.fixture(scope='module')
def rendered_names(processed_docs) -> set[str]:
    "The names of every API entry nbdev's processing rendered."
    names = set()
    for nb in processed_docs.glob('*.ipynb'):
        for cell in _cells(nb):
            for o in cell.get('outputs', []):
                md = o.get('data', {}).get('text/markdown', '')
                names |= set(re.findall(r'^#{2,4} (\S+)', ''.join(md), re.M))
    return names


def _public_members(cls) -> list[str]:
    members = []
    for name, attr in vars(cls).items():
        if name.startswith('_') or name in NOT_DOCUMENTED: continue
        if isinstance(attr, (property, classmethod, staticmethod)) or inspect.isfunction(attr): members.append(name)
    return members


def test_found_exporting_notebooks():
    assert len([nb for nb in NOTEBOOKS if _module_name(nb)]) >= 8


def test_exported_cells_are_short():
    long = [f"{nb.name} cell {i}: {n} lines" for nb in NOTEBOOKS for i, c in enumerate(_cells(nb))
            if _is_exported(c) and (n := _src(c).count('\n') + 1) > MAX_EXPORTED_LINES]
    assert not long, f"exported cells over {MAX_EXPORTED_LINES} lines (split them, one idea per cell): {long}"


def test_every_public_method_has_docs(rendered_names):
    missing, checked = [], 0
    for nb in NOTEBOOKS:
        name = _module_name(nb)
        if name is None: continue
        module = importlib.import_module(f'cpt_nb.{name}')
        for obj_name in getattr(module, '__all__', []):
            obj = getattr(module, obj_name)
            if getattr(obj, '__module__', None) != module.__name__: continue  # constants, re-exports
            if inspect.isfunction(obj) and obj.__name__ not in rendered_names: missing.append(f"{module.__name__}.{obj_name}")
            if not inspect.isclass(obj): continue
            cls = obj
            if cls.__name__ not in rendered_names: missing.append(f"{module.__name__}.{cls.__name__}")
            for member in _public_members(cls):
                checked += 1
                if f"{cls.__name__}.{member}" not in rendered_names: missing.append(f"{module.__name__}.{cls.__name__}.{member}")
    assert checked > 40, checked
    assert not missing, f"public API without a docs entry (use @patch, or show_doc(Class.method)): {missing}"


def test_history_only_in_the_compatibility_section():
    found, sections = [], 0
    for nb in NOTEBOOKS:
        in_compat = False
        for i, cell in enumerate(_cells(nb)):
            src = _src(cell)
            if cell['cell_type'] == 'markdown':
                headings = re.findall(r'^(##? .*)$', src, re.M)
                if headings: in_compat = headings[-1].strip() == COMPAT_HEADING or (in_compat and not any(h.startswith('## ') for h in headings))
                sections += src.count(COMPAT_HEADING)
            if HISTORY.search(src) and not in_compat: found.append(f"{nb.name} cell {i}: {HISTORY.search(src).group(0)!r}")
    assert sections == 1, f"expected one '{COMPAT_HEADING}' section, found {sections}"
    assert not found, f"comparisons with the original code outside its section: {found}"
