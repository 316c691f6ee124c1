"""The night report: a map of the night, a timeline, and the tables behind them, as one HTML file.

``write_report(view, scenario, out_dir)`` writes ``report.html`` (pictures embedded, so the file
can be mailed as it is) plus ``map.png`` and ``timeline.png`` beside it.
"""

from skywarden.report.html import write_report
from skywarden.report.plots import draw_map, draw_timeline

__all__ = ["draw_map", "draw_timeline", "write_report"]
