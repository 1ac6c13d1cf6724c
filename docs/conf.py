"""Sphinx configuration: the softkv site (``make docs``; warnings are errors)."""

import softkv

project = "softkv"
author = "the softkv authors"
copyright = "the softkv authors"  # noqa: A001 - Sphinx's name
release = version = softkv.__version__

extensions = ["myst_parser", "sphinx.ext.autodoc", "numpydoc", "sphinx_gallery.gen_gallery"]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "sg_execution_times.rst"]
myst_enable_extensions = ["colon_fence"]
myst_heading_anchors = 3

autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "none"  # the signatures say it; numpydoc's sections say the rest
numpydoc_show_class_members = False
numpydoc_xref_param_type = False

html_theme = "pydata_sphinx_theme"
html_title = "softkv"
html_theme_options = {"navigation_with_keys": False, "show_toc_level": 2}

# examples/ runs when the site is built: what each prints and draws is shown under its code.
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "examples",
    "filename_pattern": "/",  # every example is executed, not only plot_*.py
    "download_all_examples": False,
    "within_subsection_order": "FileNameSortKey",
    "abort_on_example_error": True,
    "write_computation_times": False,
}
