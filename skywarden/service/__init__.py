"""The live service: ``skywarden serve``. The night's runtime on its own thread (``live``), the
live picture folded from the log (``picture``), the WebSocket hub (``hub``), logins and roles
(``auth``, ``users``) and the HTTP API (``app``). Network code lives here and in ``ingest/``;
the stages stay pure."""

from skywarden.service.live import Delta, Inbox, LiveNight, LiveSource, NightOver
from skywarden.service.picture import COLLECTIONS, LivePicture
from skywarden.service.users import ROLES, UserStore

__all__ = ["COLLECTIONS", "ROLES", "Delta", "Inbox", "LiveNight", "LivePicture", "LiveSource", "NightOver", "UserStore"]
