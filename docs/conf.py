"""Sphinx configuration for numlearn's documentation."""

import os
import sys
import warnings

sys.path.insert(0, os.path.abspath(".."))
os.environ.setdefault("MPLBACKEND", "Agg")

import numlearn  # noqa: E402

project = "numlearn"
author = "The numlearn developers"
copyright = "2026, The numlearn developers"
version = release = numlearn.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

autosummary_generate = True
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_xref_param_type = False
templates_path = ["_templates"]
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py"]

html_theme = "pydata_sphinx_theme"
html_static_path = ["_static"]
html_theme_options = {"navigation_with_keys": False}

# Nothing is fetched at build time (the build must work offline).
intersphinx_mapping = {}

sphinx_gallery_conf = {
    "examples_dirs": ["../examples"],
    "gallery_dirs": ["auto_examples"],
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "plot_gallery": "True",
}

# Simulated-CUDA and numba warnings are not documentation problems.
warnings.filterwarnings("ignore", category=UserWarning, module="numba")
