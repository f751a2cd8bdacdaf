"""Pictures drawn on the server for the web pages of the ML lifecycle, as SVG to inline.

`lineage_svg` draws who was trained from what (Graphviz's `dot` lays it out); `metric_plot_svg`
draws a run's metrics over steps (matplotlib). Both answer an `<svg>` element with no XML
prolog, no script and no CSS, so a page inlines it under its Content-Security-Policy; both
bound their work and raise `PictureUnavailable` (a `RuntimeError`) when no picture can be
drawn, so a page can fall back to a table.
"""

from resolvers.pictures.lineage import (
    PictureEdge,
    PictureKind,
    PictureNode,
    PictureTooLarge,
    PictureUnavailable,
    lineage_svg,
)
from resolvers.pictures.metrics import metric_plot_svg

__all__ = [
    "PictureEdge",
    "PictureKind",
    "PictureNode",
    "PictureTooLarge",
    "PictureUnavailable",
    "lineage_svg",
    "metric_plot_svg",
]
