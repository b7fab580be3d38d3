"""The built wheel installs into a clean virtual environment, imports and runs the quantizer, and asks for no release with a known hole.

This catches what a test of the source tree cannot: a module, a file or a requirement missing from
the package. torch is installed first, as in tools/env.sh (TORCH_SPEC, TORCH_INDEX_URL), so pip does
not pick a multi-GB CUDA build. The default run installs the wheel without its other requirements
(they take a minute to install) beyond fastcore, which the quantizer itself needs, and checks instead that
every package the code imports is declared;
`--slow` also installs the wheel with all its requirements and runs the `cpt_nb` command.
"""
import ast, os, subprocess, sys, venv, zipfile
from email.parser import Parser
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent

SMOKE = r'''
import torch, cpt_nb
from pathlib import Path
from cpt_nb.quant import FakeQuantizer, MinMaxObserver, quant_range
assert "site-packages" in Path(cpt_nb.__file__).as_posix(), cpt_nb.__file__  # the wheel, not the checkout
x = torch.randn(1000)
q = FakeQuantizer(observer=MinMaxObserver())
q.calibrating = True; y = q(x, 4)
s, z = q.qparams(4)
assert torch.equal(y, torch.fake_quantize_per_tensor_affine(x, s, z.int(), *quant_range(4)))
print("ok", cpt_nb.__version__)
'''


def _run(*cmd, **kw):
    res = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    assert res.returncode == 0, f"{' '.join(map(str, cmd))} failed:\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}"
    return res.stdout


@pytest.fixture(scope='module')
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp('dist')
    _run(sys.executable, '-m', 'build', '--wheel', '--no-isolation', '--outdir', out, ROOT, cwd=out)
    whl, = out.glob('cpt_nb-*.whl')
    return whl


def _pip_install(py:Path, *args):
    """Install into the environment of `py` with this environment's pip (pip's `--python`), so the new one needs no pip
    of its own; `--no-compile` skips byte-compiling torch's files, which took half the test's time."""
    _run(sys.executable, '-m', 'pip', '--python', py, 'install', '-q', '--no-compile', '--disable-pip-version-check', *args)


def _clean_env(path:Path) -> Path:
    venv.create(path, with_pip=False)
    py = path/'bin'/'python'
    index = os.environ.get('TORCH_INDEX_URL')
    _pip_install(py, *(['--index-url', index] if index else []), os.environ.get('TORCH_SPEC', 'torch==2.13.0'))
    return py


def _check_installed(py:Path, tmp_path:Path, command:bool=True):
    assert _run(py, '-c', SMOKE, cwd=tmp_path).startswith('ok ')
    assert (py.parent/'cpt_nb').is_file()  # the console script is declared
    if command:  # the command imports transformers and the rest: only with the requirements installed
        out = _run(py.parent/'cpt_nb', '--help', cwd=tmp_path)
        assert all(c in out for c in ('train', 'eval', 'generate', 'demo')), out


def _light_requirements(wheel) -> list[str]:
    "The wheel's declared requirements on the small pure-Python packages the smoke test imports (fastcore)."
    with zipfile.ZipFile(wheel) as z:
        meta = Parser().parsestr(z.read(next(n for n in z.namelist() if n.endswith('.dist-info/METADATA'))).decode())
    reqs = [r for r in meta.get_all('Requires-Dist') or [] if 'extra ==' not in r]
    light = [r for r in reqs if Requirement(r).name.lower() == 'fastcore']
    assert light, reqs
    return light


def test_wheel_in_clean_venv(wheel, tmp_path):
    py = _clean_env(tmp_path/'env')
    _pip_install(py, *_light_requirements(wheel))
    _pip_install(py, '--no-deps', wheel)
    _check_installed(py, tmp_path, command=False)


def test_wheel_declares_what_the_code_imports(wheel):
    with zipfile.ZipFile(wheel) as z:
        meta = Parser().parsestr(z.read(next(n for n in z.namelist() if n.endswith('.dist-info/METADATA'))).decode())
        sources = {n: z.read(n).decode() for n in z.namelist() if n.startswith('cpt_nb/') and n.endswith('.py')}
    assert {'cpt_nb/quant.py', 'cpt_nb/cli.py', 'cpt_nb/bench.py', 'cpt_nb/all.py'} <= set(sources), sorted(sources)
    requires = meta.get_all('Requires-Dist') or []
    declared = {Requirement(r).name.lower() for r in requires if 'extra ==' not in r}
    extras = {Requirement(r).name.lower() for r in requires if 'extra ==' in r}  # optional: dev_requirements
    def imports(nodes):
        names = set()
        for node in nodes:
            if isinstance(node, ast.Import): names |= {a.name.split('.')[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0: names.add(node.module.split('.')[0])
        return names
    imported, at_import_time = set(), set()
    for src in sources.values():
        tree = ast.parse(src)
        imported |= imports(ast.walk(tree))
        at_import_time |= imports(n for top in tree.body if not isinstance(top, (ast.FunctionDef, ast.ClassDef))
                                  for n in ast.walk(top))
    third_party = imported - set(sys.stdlib_module_names) - {'cpt_nb', '__future__'}
    dists = packages_distributions()
    dist_names = lambda m: {d.lower() for d in dists.get(m, [m])}
    # a requirement, or an optional dependency (an extra) imported only inside a function, where it is used
    missing = {m for m in third_party if not dist_names(m) & declared
               and (m in at_import_time or not dist_names(m) & extras)}
    assert not missing, f"imported but not in settings.ini's requirements: {missing}"


@pytest.mark.slow
def test_wheel_with_its_requirements(wheel, tmp_path):
    py = _clean_env(tmp_path/'env')
    _pip_install(py, wheel)
    _check_installed(py, tmp_path)


def test_requirements_exclude_releases_with_known_holes(wheel):
    "torch before 2.6 loads pickles despite `weights_only=True` (CVE-2025-32434); datasets before 2.20 may run a dataset's loading script."
    with zipfile.ZipFile(wheel) as z:
        meta = Parser().parsestr(z.read(next(n for n in z.namelist() if n.endswith('.dist-info/METADATA'))).decode())
    reqs = {(r := Requirement(s)).name.lower(): r.specifier for s in meta.get_all('Requires-Dist') or [] if 'extra ==' not in s}
    for name, unsafe, safe in (('torch', '2.5.1', '2.6.0'), ('datasets', '2.19.2', '2.20.0')):
        assert unsafe not in reqs[name] and safe in reqs[name], (name, str(reqs[name]))
