"""How the command line prints: rich tables and progress bars on a terminal, plain tab-separated lines when piped.

out = Output()                       # stdout as it is now (kept, so --verbose can move prints to stderr)
out.table(["model", "state"], rows)  # a table on a terminal; "model\tstate" lines when piped
with out.progress(total=50, label="cellpose") as tick:
    tick(ok=True, item="img01")      # a bar with ETA and items/s, or "[1/50] img01 ok" lines
"""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from typing import Any, Callable, Dict, Iterator, Mapping, Optional, Sequence, TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

Tick = Callable[..., None]


class _Speed(ProgressColumn):
    """items/s of a task, from rich's own speed estimate."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("-- items/s" if speed is None else f"{speed:.1f} items/s", style="progress.data.speed")


class Output:
    """Everything the commands print to standard output, and their notes to standard error."""

    def __init__(self, file: Optional[TextIO] = None) -> None:
        self.file = file or sys.stdout
        self.console = Console(file=self.file, highlight=False, soft_wrap=True)
        self.errors = Console(file=sys.stderr, highlight=False, soft_wrap=True)

    @property
    def terminal(self) -> bool:
        """True when standard output is a terminal (tables, colour, progress bars)."""
        return self.console.is_terminal

    def line(self, text: str) -> None:
        """One line of plain text, as it is (tabs kept)."""
        self.file.write(text + "\n")
        self.file.flush()

    def note(self, text: str) -> None:
        """A line for the person at the terminal, on standard error (kept out of piped output)."""
        self.errors.print(text, markup=False)

    def json(self, value: Any) -> None:
        """``value`` as indented JSON."""
        self.file.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")
        self.file.flush()

    def table(self, columns: Sequence[str], rows: Sequence[Mapping[str, Any]], title: Optional[str] = None) -> None:
        """A table on a terminal; piped, a header line and one tab-separated line per row."""
        if self.terminal:
            table = Table(title=title, title_justify="left", header_style="bold")
            for column in columns:
                table.add_column(column, overflow="fold")
            for row in rows:
                table.add_row(*(Text(_cell(row.get(column))) for column in columns))
            self.console.print(table)
            return
        if title:
            self.line(f"# {title}")
        self.line("\t".join(columns))
        for row in rows:
            self.line("\t".join(_cell(row.get(column)).replace("\t", " ") for column in columns))

    @contextmanager
    def progress(self, total: int, label: str) -> Iterator[Tick]:
        """``tick(ok=..., item=..., detail=...)`` per finished item: a live bar on a terminal, lines when piped."""
        counts: Dict[str, int] = {"done": 0}
        if not self.terminal:

            def plain(ok: bool = True, item: str = "", detail: str = "", advance: int = 1) -> None:
                counts["done"] += advance
                state = "ok" if ok else "failed"
                self.line(f"[{counts['done']}/{total}] {item} {state}{': ' + detail if detail else ''}")

            yield plain
            return
        bar = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            _Speed(),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            console=self.console,
            refresh_per_second=10,
        )
        with bar:
            task = bar.add_task(label, total=total)

            def live(ok: bool = True, item: str = "", detail: str = "", advance: int = 1) -> None:
                if not ok:
                    bar.console.print(Text(f"{item} failed: {detail}", style="red"))
                bar.advance(task, advance)

            yield live


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return str(value)


def rate_line(done: int, seconds: float) -> str:
    """``"50 in 2.1 s (23.8/s)"``"""
    rate = done / seconds if seconds > 0 else 0.0
    return f"{done} in {seconds:.1f} s ({rate:.1f}/s)"
