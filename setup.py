"""Build the optional C extension; everything else is in pyproject.toml."""

from setuptools import Extension, setup

setup(ext_modules=[Extension("models._records", ["models/_records.c"], optional=True)])
