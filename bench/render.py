"""What the report is written with: its templates (bench/report.md.j2, bench/sections/*.md.j2;
Jinja2, which ansible-core and Flask bring), number and table formats, and the plots (docs/)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure


def num(value: float, digits: int = 1) -> str:
    if math.isnan(value):
        return "-"
    return f"{value:,.{digits}f}"


def fixed(value: float, digits: int = 0) -> str:
    return f"{value:.{digits}f}"


def percent(share: float, digits: int) -> str:
    return f"{share * 100:.{digits}f}%"


def table(head: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def figure(**kw: Any) -> tuple[Figure, Any]:
    """A new figure and its axes (matplotlib.pyplot.subplots), off screen."""
    return plt.subplots(**kw)


TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    autoescape=False,  # Markdown, not HTML  # noqa: S701
)
TEMPLATES.globals["table"] = table
TEMPLATES.filters.update(num=num, fixed=fixed, percent=percent)


@dataclass
class Page:
    """One section being written: its goals, its plots (titled as a quick run where it was one)."""

    docs: Path
    quick: bool
    goals: list[list[str]] = field(default_factory=list)

    def text(self, template: str, **context: Any) -> str:
        """The template's text; the report puts the blank lines between the parts."""
        return TEMPLATES.get_template(template).render(context).strip()

    def goal(self, text: str, ratio: float, bound: str) -> None:
        """A goal on a ratio: bound is ">= x" or "<= x"."""
        op, limit = bound.split()
        met = ratio >= float(limit) if op == ">=" else ratio <= float(limit)
        figure = f"{ratio:.2f}x" + (" (quick mode)" if self.quick else "")
        self.goals.append([text, figure, "met" if met else "**missed**"])

    def title(self, text: str) -> str:
        return text + (" (quick mode, busy machine)" if self.quick else "")

    def save(self, fig: Figure, name: str) -> None:
        fig.tight_layout()
        fig.savefig(self.docs / name, dpi=100)
        plt.close(fig)

    def plot(self, fig: Figure, ax: Axes, title: str, name: str, alt: str) -> str:
        """Finish a one-axis plot and save it; returns the Markdown that shows it."""
        ax.legend(fontsize=8)
        ax.grid(True, alpha=0.3)
        ax.set_title(self.title(title))
        self.save(fig, name)
        return f"![{alt}]({name})"
