"""Sphinx configuration: the softkv site (``make docs``; warnings are errors)."""

import softkv

project = "softkv"
author = "the softkv authors"
copyright = "the softkv authors"  # noqa: A001 - Sphinx's name
release = version = softkv.__version__

extensions = ["myst_parser", "sphinx.ext.autodoc", "numpydoc"]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build"]
myst_enable_extensions = ["colon_fence"]
myst_heading_anchors = 3

autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "none"  # the signatures say it; numpydoc's sections say the rest
numpydoc_show_class_members = False
numpydoc_xref_param_type = False

html_theme = "pydata_sphinx_theme"
html_title = "softkv"
html_theme_options = {"navigation_with_keys": False, "show_toc_level": 2}
