"""``skywarden incident`` is defined in :mod:`skywarden.commands.response` (outside this package,
so that the command line starts without importing the response stages); this name is kept for
its users."""

from skywarden.commands.response import incident_app

__all__ = ["incident_app"]
