"""Fuzzing every reader of user input through the CLI's entry point (``sim.cli.main``, in-process).

Each reader gets random bytes, truncations of a valid file, the valid file in a wrong encoding,
huge numbers in place of its numbers, and an empty file. Whatever the input, the CLI either
succeeds silently on stderr or exits with status 2 and one ``dse: error:`` line, without a
traceback, and leaves an output written before untouched. A few cases also run as a subprocess
(``python -m sim.cli``), the way a user meets them.
"""

import contextlib
import io
import itertools
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.cli import main
from workloads import build

BAD = Path(__file__).parent / "data" / "bad"
PRESETS = Path(__file__).parents[1] / "sim" / "presets"
VALID_CFG = (BAD / "ok.cfg").read_bytes()
VALID_CONV = (b"Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"
              b"conv1, 10, 10, 3, 3, 4, 8, 1,\nconv2, 8, 8, 1, 1, 8, 16, 2,\n")
VALID_GEMM = b"Layer, M, N, K,\nfc1, 16, 32, 64,\nfc2, 64, 8, 32,\n"
VALID_CONFIG = (PRESETS / "edge-32.yaml").read_bytes()
VALID_SPEC = (b"name: fuzz\nconfig: edge-32\n"
              b"workload: {model: llama-2-7b, phase: decode, batch: 1, context: 16, num_layers: 1}\n"
              b"grid: {array.rows: [8, 16]}\n"
              b"random: {n: 2, seed: 1, params: {dram.bandwidth_gbs: {low: 8, high: 256, log: true}}}\n")
HUGE = ["1e400", "-1e400", "nan", "inf", "-inf", "0", "-1", "1e-400", str(2**63), str(2**64 + 1),
        "9" * 30, "9" * 5000, "-" + "9" * 30, "1" + "0" * 400 + ".5"]
ENCODINGS = ["utf-16", "utf-16-le", "utf-32", "latin-1", "cp1252"]
RUN = ["run", "-w", "llama-2-7b", "-p", "phase=decode", "-p", "context=16", "-p", "num_layers=1"]
_names = itertools.count()


def corrupted(valid: bytes) -> st.SearchStrategy[bytes]:
    """Random bytes, truncations, wrong encodings (with one non-ASCII character), huge numbers
    in place of each number, and the empty file."""
    spans = [m.span() for m in re.finditer(rb"\d+(\.\d+)?", valid)]
    text = valid.decode() + "# é\n"
    return st.one_of(
        st.binary(max_size=2048),
        st.integers(0, len(valid)).map(lambda n: valid[:n]),
        st.sampled_from(ENCODINGS).map(text.encode),
        st.tuples(st.sampled_from(spans), st.sampled_from(HUGE)).map(
            lambda c: valid[:c[0][0]] + c[1].encode() + valid[c[0][1]:]),
        st.just(b""),
    )


def cli(argv: list[str]) -> tuple[int, str]:
    """Exit status and stderr of ``dse ARGV``, run in this process."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main([str(a) for a in argv])
    return code, err.getvalue()


def assert_names_undecodable(data: bytes, path: Path, stderr: str) -> None:
    """A file that is not UTF-8 text is refused by a line naming it."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        assert path.name in stderr and "not UTF-8 text" in stderr, stderr


def assert_clean(code: int, stderr: str) -> None:
    """Success with nothing on stderr, or exit 2 with one ``dse: error:`` line and no traceback."""
    assert "Traceback" not in stderr
    if code == 0:
        assert stderr == ""
        return
    assert code == 2, stderr
    lines = stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("dse: error: "), stderr
    assert len(lines[0]) < 500, stderr  # long offending values are shown cut


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


def write(work: Path, data: bytes, suffix: str) -> Path:
    """``data`` in a new file (readers may cache by path, so every case gets its own name)."""
    path = work / f"case{next(_names)}{suffix}"
    path.write_bytes(data)
    return path


def earlier(work: Path, name: str) -> tuple[Path, Path]:
    """A new output path (``name``: a file, or a folder holding REPORT.csv) with an earlier result
    in it, and the file whose bytes must survive a failing run."""
    path = work / f"earlier{next(_names)}{name}"
    kept = path if path.suffix else path / "REPORT.csv"
    kept.parent.mkdir(exist_ok=True)
    kept.write_bytes(b"earlier result")
    return path, kept


def assert_kept(kept: Path, code: int) -> None:
    if code != 0:
        assert kept.read_bytes() == b"earlier result"


FUZZ = settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@FUZZ
@given(data=corrupted(VALID_CFG))
def test_scalesim_cfg(work, data):
    out, kept = earlier(work, "")
    cfg = write(work, data, ".cfg")
    code, err = cli(["scalesim", "-c", cfg, "-t", write(work, VALID_CONV, ".csv"), "-o", out])
    assert_clean(code, err)
    assert_kept(kept, code)
    assert_names_undecodable(data, cfg, err)


@FUZZ
@given(data=st.one_of(corrupted(VALID_CONV), corrupted(VALID_GEMM).map(lambda d: (d, "gemm"))))
def test_scalesim_topology(work, data):
    data, kind = data if isinstance(data, tuple) else (data, "conv")
    out, kept = earlier(work, "")
    topology = write(work, data, ".csv")
    code, err = cli(["scalesim", "-c", BAD / "ok.cfg", "-t", topology, "-i", kind, "-o", out])
    assert_clean(code, err)
    assert_kept(kept, code)
    assert code == 0 or topology.name in err  # every topology error names the file
    assert_names_undecodable(data, topology, err)


@FUZZ
@given(data=corrupted(VALID_CONFIG))
def test_yaml_config(work, data):
    out, kept = earlier(work, ".parquet")
    config = write(work, data, ".yaml")
    code, err = cli([*RUN, "-c", config, "-o", out])
    assert_clean(code, err)
    assert_kept(kept, code)
    assert_names_undecodable(data, config, err)
    assert "Input should be" not in err  # pydantic's wording is rewritten into the project's


@FUZZ
@given(data=corrupted(VALID_SPEC))
def test_sweep_spec(work, data):
    out, kept = earlier(work, "")
    spec = write(work, data, ".yaml")
    code, err = cli(["sweep", spec, "-o", out, "-j", "1", "--no-progress"])
    assert_clean(code, err)
    assert_kept(kept, code)
    assert_names_undecodable(data, spec, err)
    assert "Input should be" not in err


# -- traces: Parquet op table and NPZ payloads -------------------------------------------------

RAGGED = {"model": "llama-2-7b", "phase": "decode", "kv_lengths": [3, 7], "num_layers": 1, "lm_head": False}


@pytest.fixture(scope="module")
def trace_files(tmp_path_factory):
    """A valid ragged-batch trace: its Parquet bytes, its NPZ bytes and its metadata record."""
    path = build(RAGGED).save(tmp_path_factory.mktemp("trace") / "t.parquet")
    table = pq.read_table(path)
    return path.read_bytes(), path.with_suffix(".npz").read_bytes(), json.loads(table.schema.metadata[b"accel_dse"])


def parquet(table: pa.Table, record: bytes | None = None) -> bytes:
    """A Parquet file of ``table`` with its ``accel_dse`` record replaced by ``record``."""
    if record is not None:
        table = table.replace_schema_metadata({**table.schema.metadata, b"accel_dse": record})
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return sink.getvalue().to_pybytes()


def parquet_cases(valid: bytes, record: dict) -> st.SearchStrategy[bytes]:
    """Corrupted bytes, the metadata record in a wrong encoding or with huge numbers, and columns
    holding huge numbers."""
    table = pq.read_table(pa.BufferReader(valid))
    text = json.dumps({**record, "meta": {**record["meta"], "note": "é"}})
    int_columns = [f.name for f in table.schema if pa.types.is_integer(f.type)]

    def with_column(case):
        name, value = case
        return parquet(table.set_column(table.schema.get_field_index(name), name,
                                        pa.array([value] * len(table), pa.int64())))

    def with_record(case):
        key, value = case
        return parquet(table, json.dumps({**record, key: value}).encode())

    return st.one_of(
        st.binary(max_size=2048),
        st.integers(0, len(valid)).map(lambda n: valid[:n]),
        st.sampled_from(ENCODINGS).map(lambda enc: parquet(table, text.encode(enc))),
        st.tuples(st.sampled_from(int_columns), st.sampled_from([2**63 - 1, 2**62 + 1, -(2**63), -1, 0])).map(with_column),
        st.sampled_from([b"[]", b"null", b"42", b'"accel-dse-trace"', b"{}"]).map(lambda raw: parquet(table, raw)),
        st.tuples(st.sampled_from(["version", "payload_ops", "meta"]),
                  st.sampled_from([10**400, -1, float("inf"), [10**30], {"work": {"unit": "token", "count": 1e308}}])
                  ).map(with_record),
        st.just(b""),
    )


def npz_cases(valid: bytes) -> st.SearchStrategy[bytes]:
    """Corrupted bytes, and archives whose ``kv_len`` arrays are huge, negative, of the wrong
    encoding (text, bytes, floats, big-endian) or of the wrong shape."""
    with np.load(io.BytesIO(valid)) as data:
        arrays = {k: data[k] for k in data.files}
    key = next(k for k in arrays if k.endswith("/kv_len"))

    def with_kv_len(value):
        buffer = io.BytesIO()
        np.savez(buffer, **{**arrays, key: value})
        return buffer.getvalue()

    odd = [np.array([2**62, 3]), np.array([-1, 7]), np.array([0, 7]), np.array(["3", "7"]), np.array([b"3", b"7"]),
           np.array([3.0, 7.0]), np.array([[3, 7]]), np.array([3]),
           np.array([3, 7, 7]), np.array([], dtype=np.int64), np.array([3, 10**18])]
    return st.one_of(
        st.binary(max_size=2048),
        st.integers(0, len(valid) - 1).map(lambda n: valid[:n]),
        st.sampled_from(range(len(odd))).map(lambda i: with_kv_len(odd[i])),
        st.just(b""),
    )


def test_trace_parquet(work, trace_files):
    valid, _, record = trace_files

    @FUZZ
    @given(data=parquet_cases(valid, record))
    def fuzz(data):
        path = write(work, data, ".parquet")
        path.with_suffix(".npz").write_bytes(trace_files[1])
        out, kept = earlier(work, ".parquet")
        code, err = cli(["run", "-c", "edge-32", "--trace", path, "-o", out])
        assert_clean(code, err)
        assert_kept(kept, code)

    fuzz()


def test_trace_npz(work, trace_files):
    valid, npz, _ = trace_files

    @FUZZ
    @given(data=npz_cases(npz))
    def fuzz(data):
        path = write(work, valid, ".parquet")
        path.with_suffix(".npz").write_bytes(data)
        code, err = cli(["trace", "inspect", path])
        assert_clean(code, err)
        assert code == 2 and path.stem in err  # every case is corrupt; the line names the payload or trace file

    fuzz()


# -- `dse rtl` parameters --------------------------------------------------------------------

RTL_PARAMS = {"int8xint8": ["w_bits", "a_bits", "acc_bits", "overflow", "weight_format"],
              "dint4xint8": ["special_shift", "acc_bits"], "mxfp4": ["block", "scale_format", "a_asymmetric"],
              "pe_array": ["rows", "cols", "pe"]}
VALID_WORDS = {"int", "dint4", "wrap", "saturate", "e8m0", "e5m2", "e4m3", "int8xint8", "int4xint8", "int4xint4",
               "dint4xint8", "mxfp4", "amxfp4"}


def _invalid_everywhere(text: str) -> bool:
    """True unless ``text`` reads (as ``dse rtl -p`` reads it: ``hw.generators.parse``) as a decimal
    integer, a boolean word or a valid name."""
    return not re.fullmatch(r"\s*[+-]?[0-9]+\s*", text) and text.lower() not in ("true", "false") \
        and text not in VALID_WORDS


RTL_VALUES = st.one_of(
    st.integers(-(10**30), -1), st.integers(257, 10**400).map(str), st.sampled_from([h for h in HUGE if h != "0"]),
    st.text(max_size=20).filter(_invalid_everywhere),
    st.sampled_from(["", "[]", "{}", "[1, 2]", "{a: 1}", "null", "1.5", "é", "'8'", "2024-13-45"]),
)


@FUZZ
@given(generator=st.sampled_from(sorted(RTL_PARAMS)), data=st.data())
def test_rtl_parameters(work, generator, data):
    key = data.draw(st.sampled_from(RTL_PARAMS[generator]))
    value = data.draw(RTL_VALUES)
    seed = data.draw(st.sampled_from(["0"] * 6 + ["-1", "-" + "9" * 30]))  # mostly valid: the parameter is fuzzed
    out = work / f"rtl{next(_names)}"
    code, err = cli(["rtl", generator, "-p", f"{key}={value}", "--seed", seed, "--cycles", "1", "--no-vcd", "-o", out])
    assert_clean(code, err)
    assert code == 2  # every drawn value is out of range or of the wrong type
    assert not out.exists()  # nothing written


# -- the same as a user meets it --------------------------------------------------------------

@pytest.mark.parametrize("argv, data", [
    (["scalesim", "-c", "{f}", "-t", str(BAD / "topo_zero_stride.csv"), "-o", "{tmp}/o"], VALID_CFG.decode().encode("utf-16")),
    (["sweep", "{f}", "-o", "{tmp}/s"], bytes(range(256))),
    (["trace", "inspect", "{f}"], VALID_CFG[:10]),
    ([*RUN, "-c", "edge-32", "-o", "{f}/x.parquet"], b"a file, not a folder"),
])
def test_subprocess_spot_checks(tmp_path, argv, data):
    path = tmp_path / "input"
    path.write_bytes(data)
    args = [a.format(f=path, tmp=tmp_path) for a in argv]
    proc = subprocess.run([sys.executable, "-m", "sim.cli", *args], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stdout == ""
    assert_clean(proc.returncode, proc.stderr)


# -- the corpus of bad inputs ------------------------------------------------------------------

def corpus_argv(path: Path, tmp: Path) -> list:
    """The command that reads a corpus file, by its name's prefix (its other inputs are valid)."""
    valid_topology = tmp / "valid.csv"
    valid_topology.write_bytes(VALID_CONV)
    kind = path.name.split("_")[0]
    return {"cfg": ["scalesim", "-c", path, "-t", valid_topology, "-o", tmp / "out"],
            "topo": ["scalesim", "-c", BAD / "ok.cfg", "-t", path, "-o", tmp / "out", "-i",
                     "gemm" if "gemm" in path.name else "conv"],
            "config": [*RUN, "-c", path],
            "sweep": ["sweep", path, "-o", tmp / "sweep", "--no-progress"],
            "trace": ["trace", "inspect", path],
            "npz": ["trace", "inspect", path]}[kind]


# the worst cases found by fuzzing, and what their line says
CORPUS_MESSAGES = {
    "cfg_random_bytes.cfg": "cfg_random_bytes.cfg: not UTF-8 text",
    "cfg_utf16.cfg": "cfg_utf16.cfg: not UTF-8 text (byte 0xff at offset 0)",
    "cfg_duplicate_section.cfg": "not a SCALE-Sim .cfg file: While reading from",
    "cfg_huge_rows.cfg": "array.rows: got inf; allowed: an integer",
    "cfg_empty.cfg": "section [architecture_presets] missing",
    "config_utf16.yaml": "config_utf16.yaml: not UTF-8 text",
    "config_latin1.yaml": "config_latin1.yaml: not UTF-8 text (byte 0xe9",
    "config_bad_date.yaml": "config_bad_date.yaml: not valid YAML: month must be in 1..12",
    "config_huge_int.yaml": "config_huge_int.yaml: not valid YAML",
    "config_huge_float.yaml": "clock_ghz: got inf; allowed: a finite number",
    "config_empty.yaml": "config_empty.yaml: top level must be a mapping",
    "config_deep_nesting.yaml": "config_deep_nesting.yaml: not valid YAML: maximum recursion depth exceeded",
    "sweep_latin1.yaml": "sweep_latin1.yaml: not UTF-8 text",
    "sweep_truncated.yaml": "sweep_truncated.yaml: not valid YAML",
    "topo_latin1.csv": "topo_latin1.csv: not UTF-8 text",
    "topo_huge.csv": "topo_huge.csv:2: K: got 100000000000000000000000000000; allowed: an integer from 1 to",
    "topo_huge_work.csv": "topo_huge_work.csv: trace: op 0 ('conv1') work (product of its dims): got 2.3e+27; allowed: <= 2**62",
    "topo_empty.csv": "needs a header row and at least one layer row",
    "trace_latin1_record.parquet": "trace_latin1_record.parquet: corrupt 'accel_dse' metadata record",
    "trace_huge_dim.parquet": "dims.E: got 9223372036854775807; allowed: integer from 1 to 4611686018427387904",
    "trace_version_huge.parquet": "schema and version: got ('accel-dse-trace', 1000000000",
    "trace_deps_text.parquet": "column deps: got type",
    "trace_empty.parquet": "not a readable Parquet file",
    "npz_truncated.parquet": "npz_truncated.npz: not a readable NPZ archive",
    "npz_random_bytes.parquet": "npz_random_bytes.npz: not a readable NPZ archive",
    "npz_kv_len_negative.parquet": "payload kv_len: got int64 [-1, 7] (shape (2,)); allowed: 2 integers (B) from 1 to 7 (T)",
    "npz_kv_len_text.parquet": "payload kv_len: got <U1 ['3', '7']",
    "npz_kv_len_huge.parquet": "payload kv_len: got int64 [3, 4611686018427387904]",
}
CORPUS = sorted(p.name for p in BAD.iterdir() if p.name != "ok.cfg" and p.suffix != ".npz")


@pytest.mark.parametrize("name", CORPUS)
def test_every_corpus_file_gives_one_line(tmp_path, name):
    code, err = cli(corpus_argv(BAD / name, tmp_path))
    assert code == 2
    assert_clean(code, err)
    assert CORPUS_MESSAGES.get(name, "") in err


def test_corpus_messages_name_existing_files():
    assert set(CORPUS_MESSAGES) <= set(CORPUS)


def test_topology_with_a_field_beyond_the_csv_limit(tmp_path):
    """Python's csv module refuses fields over 128 KiB; the line names the file."""
    topology = tmp_path / "wide.csv"
    topology.write_bytes(VALID_CONV + b'"' + b"x" * 140_000 + b'", 1, 1, 1, 1, 1, 1, 1,\n')
    code, err = cli(["scalesim", "-c", BAD / "ok.cfg", "-t", topology, "-o", tmp_path / "out"])
    assert code == 2 and "wide.csv: not a CSV file: field larger than field limit" in err
