"""The course's datasets, installed as the package data `helpers.datasets` (see pyproject.toml).

This folder holds data files, not code; this file only makes it a package, so that an installed
copy of the course (a wheel, a JupyterHub image) carries the data with `helpers`.
"""
