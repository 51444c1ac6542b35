"""Bad input corpus: every malformed config, topology, trace or spec gives one line, exit 2, no traceback."""

import subprocess
import sys
from pathlib import Path

import pytest

BAD = Path(__file__).parent / "data" / "bad"
RUN = ["run", "-w", "llama-2-7b", "-p", "phase=decode", "-p", "context=16", "-p", "num_layers=1", "-c"]
SCALESIM = ["scalesim", "-o", "{tmp}/out", "-c"]

CASES = {
    "config_unknown_key": (RUN + ["{bad}/config_unknown_key.yaml"], "array.dataflw: unknown key; allowed: rows, cols, dataflow"),
    "config_negative_rows": (RUN + ["{bad}/config_negative_rows.yaml"], "array.rows: got -4; allowed: an integer from 1 to 4096"),
    "config_wrong_type": (RUN + ["{bad}/config_wrong_type.yaml"], "array.rows: got 'many'"),
    "config_bad_dataflow": (RUN + ["{bad}/config_bad_dataflow.yaml"], "array.dataflow: got 'xs'; allowed: 'os', 'ws' or 'is'"),
    "config_not_yaml": (RUN + ["{bad}/config_not_yaml.yaml"], "not valid YAML at line"),
    "config_list_toplevel": (RUN + ["{bad}/config_list_toplevel.yaml"], "top level must be a mapping"),
    "config_unknown_model": (RUN + ["{bad}/config_unknown_model.yaml"], "model: got 'gpu'; allowed: systolic"),
    "config_bad_dram_kind": (RUN + ["{bad}/config_bad_dram_kind.yaml"], "dram.kind: got 'ddr9'"),
    "config_missing_array": (RUN + ["{bad}/config_missing_array.yaml"], "array: missing (required)"),
    "config_node_out_of_range": (RUN + ["{bad}/config_node_out_of_range.yaml"], "tech.node_nm: got 3; allowed: a number from 7 to 130"),
    "config_zero_sram": (RUN + ["{bad}/config_zero_sram.yaml"], "sram.ifmap_kb: got 0; allowed: a number > 0 and <= 1048576"),
    "config_missing_file": (RUN + ["{bad}/nope.yaml"], "allowed: a YAML file or a preset"),
    "override_bad_value": (RUN + ["edge-32", "--set", "array.cols=0"], "array.cols: got 0; allowed: an integer from 1 to 4096"),
    "mac_unknown_pair": (RUN + ["edge-32", "--set", "mac.weight_format=dint4", "--set", "mac.act_format=int4"],
                         "mac.act_format: got 'int4'; allowed: with weight_format 'dint4', a registered pair: int8 x int8"),
    "mac_half_pair": (RUN + ["edge-32", "--set", "mac.weight_format=mxfp4"],
                      "mac.act_format: got None; allowed: a format here and in weight_format, or in neither"),
    "mac_block_acc": (RUN + ["edge-32", "--set", "mac.weight_format=mxfp4", "--set", "mac.act_format=mxfp4",
                             "--set", "mac.acc_bits=24"], "mac.acc_bits: got 24; allowed: 16 or 32"),
    "mac_operand_misfit": (RUN + ["edge-32", "--set", "mac.weight_format=int4", "--set", "mac.act_format=int4"],
                           "weight operand in 'int8' does not fit the int4xint4 PE's weight port; allowed: int4"),
    "override_true_for_int": (RUN + ["edge-32", "--set", "array.rows=true"], "array.rows: got True; allowed: an integer"),
    "mac_narrower_than_trace": (RUN + ["edge-32", "--set", "mac.operand_bits=4"],
                                "weight operand in 'int8' (8-bit elements) is wider than the MAC's 4-bit ports"),
    "dram_channels_and_bandwidth": (RUN + ["edge-32", "--set", "dram.channels=2"],
                                    "allowed: channels or bandwidth_gbs, not both"),
    "sweep_unknown_objective": (["sweep", "{bad}/sweep_unknown_objective.yaml", "-o", "{tmp}/sw"],
                                "sweep spec: objectives[1]: got 'speed'; allowed: one of each of latency_per_unit"),
    "workload_unknown_model": (["run", "-c", "edge-32", "-w", "gpt-9"], "gpt-9"),
    "cfg_bad_dataflow": (SCALESIM + ["{bad}/cfg_bad_dataflow.cfg", "-t", "{bad}/topo_zero_stride.csv"], "array.dataflow: got 'xy'"),
    "cfg_not_number": (SCALESIM + ["{bad}/cfg_not_number.cfg", "-t", "{bad}/topo_zero_stride.csv"], "arrayheight: got 'big'; allowed: a number"),
    "cfg_missing_section": (SCALESIM + ["{bad}/cfg_missing_section.cfg", "-t", "{bad}/topo_zero_stride.csv"], "[architecture_presets] missing"),
    "cfg_bad_interface": (SCALESIM + ["{bad}/cfg_bad_interface.cfg", "-t", "{bad}/topo_zero_stride.csv"], "InterfaceBandwidth: got 'FAST'"),
    "cfg_garbage": (SCALESIM + ["{bad}/cfg_garbage.cfg", "-t", "{bad}/topo_zero_stride.csv"], "not a SCALE-Sim .cfg file"),
    "topo_missing_field": (SCALESIM + ["{bad}/ok.cfg", "-t", "{bad}/topo_missing_field.csv"], "topo_missing_field.csv:2: got 6 fields"),
    "topo_non_integer": (SCALESIM + ["{bad}/ok.cfg", "-t", "{bad}/topo_non_integer.csv"], "W: got 'ten'; allowed: an integer from 1 to 4611686018427387904"),
    "topo_zero_stride": (SCALESIM + ["{bad}/ok.cfg", "-t", "{bad}/topo_zero_stride.csv"], "stride: got 0; allowed: an integer from 1 to 4611686018427387904"),
    "topo_filter_larger": (SCALESIM + ["{bad}/ok.cfg", "-t", "{bad}/topo_filter_larger.csv"], "filter 5x5 larger than ifmap 4x4"),
    "topo_header_only": (SCALESIM + ["{bad}/ok.cfg", "-t", "{bad}/topo_header_only.csv"], "at least one layer row"),
    "topo_sparse": (SCALESIM + ["{bad}/ok.cfg", "-t", "{bad}/topo_sparse.csv"], "sparsity: got '2:4'"),
    "topo_gemm_short": (SCALESIM + ["{bad}/ok.cfg", "-t", "{bad}/topo_gemm_short.csv", "-i", "gemm"], "got 3 fields; allowed: name, M, N, K"),
    "trace_text": (["trace", "inspect", "{bad}/trace_text.parquet"], "not a readable Parquet file"),
    "trace_truncated": (["trace", "inspect", "{tmp}/cut.parquet"], "truncated or foreign"),
    "trace_foreign": (["trace", "inspect", "{tmp}/foreign.parquet"], "not an accel-dse trace"),
    "trace_folder": (["trace", "inspect", "{tmp}"], "bad0: a folder; allowed: a .parquet file"),
    "trace_missing": (["run", "-c", "edge-32", "--trace", "{tmp}/none.parquet"], "no such file"),
    "sweep_unknown_key": (["sweep", "{bad}/sweep_unknown_key.yaml", "-o", "{tmp}/sw"], "colour"),
    "sweep_bad_value": (["sweep", "{bad}/sweep_bad_value.yaml", "-o", "{tmp}/sw"], "array.rows: got 0"),
    "report_missing_dir": (["report", "{tmp}/no-sweep", "-o", "{tmp}/rep"], "no-sweep"),
    "rtl_unknown_generator": (["rtl", "int3xint3", "-o", "{tmp}/rtl"], "generator: got 'int3xint3'; allowed: int8xint8"),
    "rtl_unknown_param": (["rtl", "mxfp4", "-p", "blocks=32", "-o", "{tmp}/rtl"], "mxfp4.blocks: unknown parameter"),
    "rtl_bits_out_of_range": (["rtl", "int8xint8", "-p", "a_bits=1", "-o", "{tmp}/rtl"], "int8xint8.a_bits: got 1; allowed: 2 to 16"),
    "rtl_acc_too_narrow": (["rtl", "dint4xint8", "-p", "acc_bits=8", "-o", "{tmp}/rtl"], "acc_bits: got 8; allowed: 13"),
    "rtl_wrong_type": (["rtl", "amxfp4", "-p", "block=big", "-o", "{tmp}/rtl"], "amxfp4.block: got 'big'; allowed: an integer"),
    "rtl_bad_scale_format": (["rtl", "amxfp4", "-p", "scale_format=e3m4", "-o", "{tmp}/rtl"], "scale_format: got 'e3m4'"),
    "rtl_negative_seed": (["rtl", "int8xint8", "--seed", "-1", "-o", "{tmp}/rtl"], "seed: got -1; allowed: an integer >= 0"),
    "rtl_negative_shift": (["rtl", "dint4xint8", "-p", "special_shift=-1", "-o", "{tmp}/rtl"],
                           "dint4xint8.special_shift: got -1; allowed: an integer from 0 to 52"),
    "rtl_shift_not_integer": (["rtl", "dint4xint8", "-p", "special_shift=1.5", "-o", "{tmp}/rtl"],
                              "dint4xint8.special_shift: got '1.5'; allowed: an integer"),
    "rtl_pe_not_a_name": (["rtl", "pe_array", "-p", "pe=[1]", "-o", "{tmp}/rtl"], "pe_array.pe: got '[1]'; allowed: int8xint8"),
    "rtl_pe_misspelled": (["rtl", "pe_array", "-p", "pe=int4xint9", "-o", "{tmp}/rtl"], "did you mean 'int4xint8'?"),
    "rtl_bool_word": (["rtl", "amxfp4", "-p", "a_asymmetric=yes", "-o", "{tmp}/rtl"],
                      "amxfp4.a_asymmetric: got 'yes'; allowed: true, false, 1 or 0"),
    "rtl_choice_misspelled": (["rtl", "int8xint8", "-p", "overflow=saturat", "-o", "{tmp}/rtl"],
                              "int8xint8.overflow: got 'saturat'; allowed: wrap, saturate; did you mean 'saturate'?"),
    "rtl_no_equals": (["rtl", "int8xint8", "-p", "acc_bits", "-o", "{tmp}/rtl"], "-p: got 'acc_bits'; allowed: KEY=VALUE"),
    "rtl_other_scale_format": (["rtl", "mxfp4", "-p", "scale_format=e5m2", "-o", "{tmp}/rtl"],
                               "mxfp4.scale_format: got 'e5m2'; allowed: e8m0 (it sets the number formats"),
    "rtl_other_weight_format": (["rtl", "int4xint4", "-p", "weight_format=dint4", "-o", "{tmp}/rtl"],
                                "no generator has w_bits=4, a_bits=4, weight_format=dint4"),
    "rtl_other_width": (["rtl", "int8xint8", "-p", "w_bits=4", "-o", "{tmp}/rtl"],
                        "int8xint8.w_bits: got 4; allowed: 8 (it sets the number formats the name stands for; "
                        "that unit is generator int4xint8)"),
    "rtl_array_pe_width": (["rtl", "pe_array", "-p", "pe=int4xint4", "-p", "a_bits=8", "-o", "{tmp}/rtl"],
                           "that unit is pe int4xint8"),
    "rtl_array_rows": (["rtl", "pe_array", "-p", "rows=0", "-o", "{tmp}/rtl"], "pe_array.rows: got 0; allowed: an integer from 1"),
    "trace_inspect_nothing": (["trace", "inspect"], "trace inspect: trace: missing; allowed: a trace FILE"),
    "workload_huge_context": (["run", "-c", "edge-32", "-w", "llama-2-7b", "-p", "phase=decode", "-p", "context=999999999"],
                              "workload.context: got 999999999; allowed: an integer from 1 to 1048576"),
    "rtl_bad_stimulus": (["rtl", "pe_array", "--stimulus", "exhaustive", "-o", "{tmp}/rtl"], "allowed: random"),
}


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    import pandas as pd

    from workloads import build

    tmp = tmp_path_factory.mktemp("bad")
    path = build({"model": "llama-2-7b", "phase": "decode", "batch": 1, "context": 16, "num_layers": 1}).save(tmp / "t.parquet")
    data = path.read_bytes()
    (tmp / "cut.parquet").write_bytes(data[: len(data) // 2])
    pd.DataFrame({"x": [1, 2, 3]}).to_parquet(tmp / "foreign.parquet")
    return tmp


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_gives_one_line_and_exit_2(name, scratch):
    args, expected = CASES[name]
    argv = [a.format(bad=BAD, tmp=scratch) for a in args]
    proc = subprocess.run([sys.executable, "-m", "sim.cli", *argv], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("dse: error: ")
    assert expected in lines[0]


def test_debug_flag_shows_traceback(scratch):
    proc = subprocess.run([sys.executable, "-m", "sim.cli", "--debug", *RUN, str(BAD / "config_negative_rows.yaml")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0 and "Traceback" in proc.stderr


# -- outputs are checked before the run; the final net for library errors -------------------

DECODE = ["run", "-c", "edge-32", "-w", "llama-2-7b", "-p", "phase=decode", "-p", "context=16", "-p", "num_layers=1"]


@pytest.mark.parametrize("argv, expected", [
    (DECODE + ["-o", "{tmp}/out.txt"], "-o/--output: got '{tmp}/out.txt'; allowed: a file name ending in .parquet, .csv"),
    (DECODE + ["-o", "{tmp}/afile/out.parquet"], "allowed: a path inside a folder ({tmp}/afile is a file)"),
    (DECODE + ["-o", "{tmp}"], "allowed: a file name ending in .parquet, .csv"),
    (DECODE + ["-o", "{tmp}/adir.csv"], "allowed: a file, not an existing folder"),
    (["trace", "generate", "-w", "resnet-50", "-o", "{tmp}/t.txt"], "allowed: a file name ending in .parquet"),
    (["scalesim", "-c", str(BAD / "ok.cfg"), "-t", str(BAD / "topo_zero_stride.csv"), "-o", "{tmp}/afile"],
     "-o/--output: got '{tmp}/afile'; allowed: a folder, not an existing file"),
    (["sweep", str(BAD / "sweep_bad_value.yaml"), "-o", "{tmp}/afile/sweep"], "({tmp}/afile is a file)"),
])
def test_outputs_are_refused_before_anything_runs(tmp_path, capsys, argv, expected):
    from sim.cli import main

    (tmp_path / "afile").write_text("kept")
    (tmp_path / "adir.csv").mkdir()
    assert main([a.format(tmp=tmp_path) for a in argv]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("dse: error: -o/--output: got ") and err.count("\n") == 1
    assert expected.format(tmp=tmp_path) in err
    assert (tmp_path / "afile").read_text() == "kept"


@pytest.mark.parametrize("exc, expected", [
    (FileNotFoundError(2, "No such file or directory", "in.yaml"), "in.yaml: No such file or directory"),
    (IsADirectoryError(21, "Is a directory", "out"), "out: Is a directory"),
    (PermissionError(13, "Permission denied", "a", None, "b"), "a -> b: Permission denied"),
    (UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"), "input is not utf-8 text (byte 0: invalid start byte)"),
    (__import__("yaml").YAMLError("bad\nyaml"), "cannot parse input: YAMLError: bad; yaml"),
    (__import__("zipfile").BadZipFile("File is not a zip file"), "cannot parse input: BadZipFile: File is not a zip file"),
])
def test_the_final_net_turns_library_errors_into_one_line(monkeypatch, capsys, exc, expected):
    import sim.cli

    def fail(args):
        raise exc

    monkeypatch.setattr(sim.cli, "parser", _parser_with(sim.cli.parser, fail))
    assert sim.cli.main(["list"]) == 2
    assert capsys.readouterr().err == f"dse: error: {expected}\n"


def test_a_bug_is_not_hidden_by_the_net(monkeypatch):
    import sim.cli

    def bug(args):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(sim.cli, "parser", _parser_with(sim.cli.parser, bug))
    with pytest.raises(ZeroDivisionError):
        sim.cli.main(["list"])


def _parser_with(make_parser, func):
    """The CLI's parser with ``dse list`` running ``func``."""
    def parser():
        top = make_parser()
        top.parse_args(["list"])  # the subcommand exists
        top._subparsers._group_actions[0].choices["list"].set_defaults(func=func)
        return top
    return parser


def test_percent_in_a_cfg_is_literal(tmp_path):
    from sim.scalesim import read_cfg

    cfg = tmp_path / "util.cfg"
    cfg.write_text((BAD / "ok.cfg").read_text().replace("run_name = bad_inputs", "run_name = 100%_util"))
    assert read_cfg(cfg).name == "100%_util"
