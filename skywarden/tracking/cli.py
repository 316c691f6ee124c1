"""``skywarden track`` is defined in :mod:`skywarden.commands.tracking` (outside this package, so
that the command line starts without importing the tracker); this name is kept for its users."""

from skywarden.commands.tracking import MAX_REPORTED, TrackDefaults, track

__all__ = ["MAX_REPORTED", "TrackDefaults", "track"]
