"""The README's sweep example runs as written, and none of its designs has a MAC narrower than the
operands of its trace (such a point would be rejected by the model, failing the sweep)."""

import re
from pathlib import Path

import yaml

from sim.numerics.storage import FORMATS
from sim.sweep import expand, run_sweep

README = Path(__file__).parent.parent / "README.md"


def sweep_example() -> dict:
    blocks = re.findall(r"```yaml\n(.*?)```", README.read_text(), re.S)
    return next(yaml.safe_load(b) for b in blocks if b.startswith("name: decode-shapes"))


def test_readme_sweep_example_has_no_mac_narrower_than_its_trace(tmp_path):
    spec = sweep_example()
    points = expand(spec)
    assert len(points) == 4 * 4 * 3 * 2 * len(spec["cases"]) * spec["random"]["n"]
    for p in points:
        port = p.point["config"]["mac"]["operand_bits"]
        widest = max(FORMATS[f][0] for f in p.point["workload"]["formats"].values())
        assert widest <= port, p.params
    table = run_sweep(spec, tmp_path / "sweep", n_jobs=1, progress=False)
    assert len(table) == len(points) and table["energy_pj"].notna().all()
