"""Imports run one way: each module of `cpt_nb` imports only the modules before it in `MODULE_ORDER`.

Read with `ast` from the exported files (imports inside functions included) and from the notebooks'
test cells, so that the rule holds for the code a user imports and for the chapters a reader runs:

- no import cycle, and no import of a module later in the order;
- no private name (`_x`) imported from another module, by `from ... import _x` or as `module._x`;
- library code never imports `cpt_nb.test_utils` (the tests' helpers); tests may;
- a chapter's test cells import no module of a later chapter (test utilities excepted).
"""
import ast
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT/'cpt_nb'
# The chapters in reading order; a module may import only those before it. `test_utils` and `all`
# come last: the first serves the tests, the second re-exports the public names.
MODULE_ORDER = ['core', 'quant', 'schedule', 'layers', 'model', 'data', 'calibration', 'evaluate', 'train', 'viz', 'run',
                'bench', 'cli', 'test_utils', 'all']
GENERATED = {'__init__', '_modidx', '_nbdev_procs'}  # nbdev's own files, and the docs build's processors (not library code)


def _imports(tree:ast.AST, here:str|None=None) -> list[tuple[str, str|None, int]]:
    "`(module, name, line)` for every import of a cpt_nb module in `tree`: `name` is the imported name, or None for the module."
    found, aliases = [], {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from .model import x, from . import model
                base = node.module
            elif node.module and (node.module == 'cpt_nb' or node.module.startswith('cpt_nb.')):
                base = node.module[len('cpt_nb.'):] if node.module != 'cpt_nb' else None
            else: continue
            for a in node.names:
                if base is None: found.append((a.name, None, node.lineno)); aliases[a.asname or a.name] = a.name
                else: found.append((base.split('.')[0], a.name, node.lineno))
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith('cpt_nb.'):
                    mod = a.name.split('.')[1]
                    found.append((mod, None, node.lineno))
                    if a.asname: aliases[a.asname] = mod
    for node in ast.walk(tree):  # module._private, through an alias or the dotted path
        if isinstance(node, ast.Attribute) and node.attr.startswith('_') and not node.attr.startswith('__'):
            v = node.value
            if isinstance(v, ast.Name) and v.id in aliases: found.append((aliases[v.id], node.attr, node.lineno))
            elif (isinstance(v, ast.Attribute) and isinstance(v.value, ast.Name) and v.value.id == 'cpt_nb'
                  and v.attr in MODULE_ORDER): found.append((v.attr, node.attr, node.lineno))
    return [f for f in found if f[0] != here]


def _module_imports() -> dict[str, list]:
    return {p.stem: _imports(ast.parse(p.read_text()), p.stem) for p in sorted(PACKAGE.glob('*.py')) if p.stem not in GENERATED}


def test_every_module_has_a_place_in_the_order():
    assert sorted(_module_imports()) == sorted(MODULE_ORDER)


def test_imports_follow_the_chapter_order():
    rank = {m: i for i, m in enumerate(MODULE_ORDER)}
    bad = [f"cpt_nb/{m}.py:{line} imports {dep} (later in the order)" for m, deps in _module_imports().items()
           for dep, _, line in deps if dep in rank and rank[dep] >= rank[m]]
    assert not bad, '\n'.join(bad)


def test_no_import_cycle():
    graph = {m: {d for d, _, _ in deps if d in MODULE_ORDER} for m, deps in _module_imports().items()}
    state = {}
    def visit(m, path):
        if state.get(m) == 'done': return
        assert state.get(m) != 'open', f"import cycle: {' -> '.join(path + [m])}"
        state[m] = 'open'
        for d in sorted(graph[m]): visit(d, path + [m])
        state[m] = 'done'
    for m in graph: visit(m, [])


def test_no_private_name_crosses_a_module():
    bad = [f"cpt_nb/{m}.py:{line} uses {dep}.{name}" for m, deps in _module_imports().items()
           for dep, name, line in deps if name and name.startswith('_') and not name.startswith('__')]
    assert not bad, '\n'.join(bad)


def test_library_code_never_imports_test_utils():
    bad = [f"cpt_nb/{m}.py:{line}" for m, deps in _module_imports().items() if m != 'test_utils'
           for dep, _, line in deps if dep == 'test_utils']
    assert not bad, '\n'.join(bad)


def _chapters() -> dict[Path, str]:
    "Each notebook that exports a module -> that module."
    out = {}
    for nb in sorted((ROOT/'nbs').glob('*.ipynb')):
        for c in json.loads(nb.read_text())['cells']:
            src = ''.join(c['source'])
            if c['cell_type'] == 'code' and src.startswith('#| default_exp '): out[nb] = src.split()[2]; break
    return out


def test_a_chapters_tests_import_no_later_chapter():
    rank = {m: i for i, m in enumerate(MODULE_ORDER)}
    bad = []
    for nb, module in _chapters().items():
        for i, c in enumerate(json.loads(nb.read_text())['cells']):
            if c['cell_type'] != 'code': continue
            src = '\n'.join(l for l in ''.join(c['source']).splitlines() if not l.lstrip().startswith(('%', '!')))
            try: tree = ast.parse(src)
            except SyntaxError: continue
            for dep, _, line in _imports(tree, module):
                if dep in rank and rank[dep] > rank[module] and dep != 'test_utils':
                    bad.append(f"{nb.name} cell {i}: imports cpt_nb.{dep}, a later chapter than {module}")
    assert not bad, '\n'.join(bad)


def test_the_checks_can_fail():
    "The reader finds each kind of import it must refuse."
    tree = ast.parse("from .model import _atomic_write\nimport cpt_nb.bench as b\ndef f():\n    from cpt_nb.cli import main\n    b._x()")
    assert sorted(_imports(tree, 'train'), key=str) == sorted([('bench', None, 2), ('bench', '_x', 5), ('cli', 'main', 4), ('model', '_atomic_write', 1)], key=str)


def _tutorial_imports(nb:Path) -> list[str]:
    "What each code cell a reader sees in notebook `nb` imports from cpt_nb other than `cpt_nb.all` (a `#| hide` cell is not shown)."
    bad = []
    for i, c in enumerate(json.loads(nb.read_text())['cells']):
        if c['cell_type'] != 'code' or ''.join(c['source']).lstrip().startswith('#| hide'): continue
        src = '\n'.join(l for l in ''.join(c['source']).splitlines() if not l.lstrip().startswith(('%', '!')))
        bad += [f"{nb.name} cell {i}: cpt_nb.{dep}" for dep, _, _ in _imports(ast.parse(src)) if dep != 'all']
    return bad


def test_tutorials_import_only_cpt_nb_all():
    "A user's code imports `cpt_nb.all` alone: the index and every tutorial show that."
    pages = [ROOT/'nbs'/'index.ipynb', *sorted((ROOT/'nbs').glob('*tutorial*.ipynb'))]
    assert len(pages) >= 4, pages
    bad = [b for nb in pages for b in _tutorial_imports(nb)]
    assert not bad, "import these from cpt_nb.all (add them there if missing):\n" + '\n'.join(bad)
