"""``skywarden claim`` and ``skywarden statement`` are defined in
:mod:`skywarden.commands.disclosure` (outside this package, so that the command line starts
without importing the stages); this name is kept for their users."""

from skywarden.commands.disclosure import claim_app, statement_app

__all__ = ["claim_app", "statement_app"]
