"""Response: kill numbering, airspace restrictions ("Carpet"), debris footprints, crews and dispatch.

Import the stages from their modules (``response.airspace``, ``response.kills``,
``response.debris``, ``response.dispatch``); this module re-exports them.
"""
