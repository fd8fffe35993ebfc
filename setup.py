"""Build the optional C extension; everything else is in pyproject.toml."""

from setuptools import Extension, setup

setup(ext_modules=[Extension("kripke._speedups", ["checkers/_speedups.c"], optional=True),
                   Extension("kripke._visited", ["checkers/_visited.c"], optional=True),
                   Extension("kripke._wire", ["checkers/_wire.c"], optional=True)])
