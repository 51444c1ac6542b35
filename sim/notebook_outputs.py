"""Where a notebook saves its figures (PNG) and tables (CSV).

Run as a script, a notebook takes ``--out DIR`` (default ``reports/notebooks/<name>`` under the
working directory); in Jupyter the kernel's own command-line options are ignored and the default
applies. A folder that cannot be created is one ``error:`` line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


class NotebookOutputs:
    """The output folder of notebook ``name`` and the files saved into it so far."""

    def __init__(self, name: str, argv: list[str] | None = None):
        parser = argparse.ArgumentParser(prog=f"notebooks/{name}.py")
        parser.add_argument("--out", type=Path, default=Path("reports") / "notebooks" / name,
                            help="folder for the figures (PNG) and tables (CSV); created if missing")
        out = parser.parse_known_args(argv)[0].out
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            print(f"error: --out: got '{out}'; allowed: a folder that can be created ({exc.strerror})", file=sys.stderr)
            sys.exit(2)
        self.dir = out.resolve()
        self.saved: list[Path] = []

    def figure(self, fig, stem: str) -> Path:
        """Save ``fig`` as ``<stem>.png``."""
        path = self.dir / f"{stem}.png"
        fig.savefig(path, dpi=100, bbox_inches="tight")
        self.saved.append(path)
        return path

    def table(self, df, stem: str, index: bool = False) -> Path:
        """Save DataFrame ``df`` as ``<stem>.csv`` (full precision)."""
        path = self.dir / f"{stem}.csv"
        df.to_csv(path, index=index)
        self.saved.append(path)
        return path

    def report(self) -> None:
        """Print where the files went."""
        print(f"saved {len(self.saved)} files to {self.dir}: {', '.join(p.name for p in self.saved)}")
