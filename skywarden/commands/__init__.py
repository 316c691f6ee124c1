"""The stages' command-line surfaces (``skywarden track``, ``decode``, ``incident``, ``claim``,
``statement``, ``serve``, ``users``), registered by :mod:`skywarden.cli`.

They live outside their stages' packages because importing a stage package imports the stage
(numba, scipy, networkx, shapely, pyproj): here a module imports only typer, rich, the standard
library and ``skywarden.errors`` when it loads, and its stage inside the command that needs it,
so ``skywarden --help`` and every command start at once. ``tests/test_cli_startup.py`` keeps it so.
"""
