"""Self-contained HTML reports: tables and inline PNG plots in one file a reviewer can open.

Shared by the training evaluation and the policy simulation, so both read alike.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
from jinja2 import Template

TEMPLATE = Template(
    """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 70rem; color: #222; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; font-size: 0.9rem; }
th, td { border-bottom: 1px solid #ddd; padding: 0.25rem 0.6rem; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.plots { display: flex; flex-wrap: wrap; gap: 1rem; }
.plots img { width: 32rem; }
</style></head><body>
<h1>{{ title }}</h1>
<p>{{ summary }}</p>
<h2>{{ headline_title }}</h2>
{{ headline | safe }}
<div class="plots">{% for plot in plots %}
<img alt="{{ plot.name }}" src="data:image/png;base64,{{ plot.png }}">
{% endfor %}</div>
{% for section in sections %}<h2>{{ section.title }}</h2>{{ section.table | safe }}{% endfor %}
</body></html>
"""
)


@dataclass
class Plot:
    name: str
    png: str


def png(figure: plt.Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode()


def table(frame: pd.DataFrame) -> str:
    return frame.to_html(index=False, float_format=lambda v: f"{v:.4f}", border=0)


def write_report(
    path: Path,
    title: str,
    summary: str,
    headline: pd.DataFrame,
    plots: list[Plot],
    sections: dict[str, pd.DataFrame],
    headline_title: str = "Test period",
) -> Path:
    """One self-contained HTML file: a headline table, the plots inline, then the sections."""
    html = TEMPLATE.render(
        title=title,
        summary=summary,
        headline_title=headline_title,
        headline=table(headline),
        plots=plots,
        sections=[{"title": t, "table": table(f)} for t, f in sections.items()],
    )
    path.write_text(html, encoding="utf-8")
    return path
