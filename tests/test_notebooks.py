"""Every notebook (jupytext percent format) runs top to bottom in its small mode."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).parent.parent / "notebooks").glob("*.py"))


def test_there_are_notebooks():
    assert NOTEBOOKS


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[n.stem for n in NOTEBOOKS])
def test_notebook_runs(notebook, tmp_path):
    env = {**os.environ, "DSE_NOTEBOOK_SMALL": "1", "MPLBACKEND": "Agg"}
    proc = subprocess.run([sys.executable, str(notebook)], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip()  # the first cell printed its summary line
