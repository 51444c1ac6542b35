"""``dse rtl``: the help lists every generator's parameters from the PE registry, ``-p`` values are
read by type, the files are named after the unit's parameters, format-setting parameters are
refused, the exported Verilog is the file Icarus runs, and ``rst`` does what the help says.

Icarus tests skip when ``iverilog`` is missing, unless DSE_REQUIRE_ICARUS=1 (set by ``.ci/run``).
"""

import json
import os

import numpy as np
import pytest

from hw import generators, golden, icarus, stimuli
from sim import cli
from sim.errors import ConfigError
from sim.models.pes import PES


@pytest.fixture
def require_icarus():
    if not icarus.available():
        if os.environ.get("DSE_REQUIRE_ICARUS") == "1":
            pytest.fail("iverilog/vvp not found but DSE_REQUIRE_ICARUS=1")
        pytest.skip("iverilog not installed")


def _rtl_help(capsys) -> str:
    with pytest.raises(SystemExit):
        cli.main(["rtl", "--help"])
    return capsys.readouterr().out


def _sections(text: str) -> dict[str, list[str]]:
    """The parameter lines of each generator in the help, by generator name."""
    sections, current = {}, None
    for line in text.splitlines():
        if line.startswith("  ") and not line.startswith("   ") and ":" in line:
            current = line.strip().split(":")[0]
            sections[current] = []
        elif line.startswith("    ") and current:
            sections[current].append(line.strip())
    return sections


def test_help_lists_every_registry_parameter_with_type_default_and_doc(capsys):
    sections = _sections(_rtl_help(capsys))
    expected = {name: dict(pe.rtl_params) for name, pe in PES.items()}
    expected["pe_array"] = {"pe": "int8xint8", "rows": 4, "cols": 4}  # hw.pe_array's PEArray defaults, int8 PEs
    assert set(sections) >= set(expected)
    for name, params in expected.items():
        assert len(sections[name]) == len(params), name
        for line, (key, default) in zip(sections[name], params.items()):
            assert key in generators.PARAMETERS, f"{name}.{key} has no documented parameter"
            shown = str(default).lower() if isinstance(default, bool) else str(default)
            head, kind = line.split()[:3], line.split()[3]
            assert head == [key, "=", shown] and kind == type(default).__name__, line
            assert line.endswith(generators.PARAMETERS[key].doc), line
            assert ("fixed;" in line) == (key in generators.FIXED), line


@pytest.mark.parametrize("key", [k for k, p in generators.PARAMETERS.items()
                                 if p.choices and any(k in pe.rtl_params for pe in PES.values())])
def test_string_choices_are_the_ones_the_rtl_takes(key):
    """Each listed string builds some registered unit that has the parameter; a string off the list
    is refused by every one of them; the help line names every choice."""
    units = [name for name, pe in PES.items() if key in pe.rtl_params]
    for choice in generators.PARAMETERS[key].choices:
        assert choice in generators.PARAMETERS[key].doc
        built = []
        for name in units:
            try:
                built.append(generators.build(name, **{key: choice}))
            except ConfigError:
                pass
        assert built, (key, choice)
    for name in units:
        with pytest.raises(ConfigError, match=f"{name}.{key}: got"):
            generators.build(name, **{key: generators.PARAMETERS[key].choices[0] + "x"})


@pytest.mark.parametrize("text, value", [("1", True), ("0", False), ("true", True), ("FALSE", False), ("True", True)])
def test_boolean_values(text, value):
    assert generators.parse("amxfp4", {"a_asymmetric": text}) == {"a_asymmetric": value}


@pytest.mark.parametrize("name, key, text, expected", [
    ("amxfp4", "w_asymmetric", "yes", "amxfp4.w_asymmetric: got 'yes'; allowed: true, false, 1 or 0"),
    ("amxfp4", "w_asymmetric", "2", "allowed: true, false, 1 or 0"),
    ("amxfp4", "w_asymmetric", "ture", "did you mean 'true'?"),
    ("int8xint8", "acc_bits", "0x18", "int8xint8.acc_bits: got '0x18'; allowed: an integer"),
    ("int8xint8", "acc_bits", "24.0", "allowed: an integer"),
    ("int8xint8", "acc_bits", "", "allowed: an integer"),
    ("int8xint8", "overflow", "Wrap", "did you mean 'wrap'?"),
    ("int8xint8", "acc_bit", "20", "int8xint8.acc_bit: unknown parameter; allowed: w_bits, a_bits, acc_bits"),
    ("pe_array", "colls", "2", "did you mean 'cols'?"),
])
def test_mistyped_values_get_one_line(name, key, text, expected):
    with pytest.raises(ConfigError) as exc:
        generators.parse(name, {key: text})
    assert expected in str(exc.value) and "\n" not in str(exc.value)


def test_integers_and_strings_are_read_as_typed():
    assert generators.parse("int8xint8", {"acc_bits": "+20", "overflow": "saturate"}) == {"acc_bits": 20,
                                                                                         "overflow": "saturate"}
    assert generators.parse("pe_array", {"pe": "mxfp4", "rows": "2", "block": "8"}) == {"pe": "mxfp4", "rows": 2,
                                                                                      "block": 8}


@pytest.mark.parametrize("name, params, unit", [
    ("int8xint8", {}, "int8xint8"),
    ("int8xint8", {"acc_bits": 24, "overflow": "wrap", "w_bits": 8}, "int8xint8"),  # the defaults, given
    ("int8xint8", {"overflow": "saturate", "acc_bits": 20}, "int8xint8_acc20_saturate"),  # registry order
    ("dint4xint8", {"special_shift": 0}, "dint4xint8_shift0"),
    ("mxfp4", {"block": 8}, "mxfp4_block8"),
    ("pe_array", {"rows": 2, "cols": 3, "pe": "int4xint4"}, "pe_array_int4xint4_rows2_cols3"),
    ("pe_array", {"pe": "int8xint8", "rows": 4}, "pe_array"),
    ("pe_array", {"pe": "int4xint4", "acc_bits": 12}, "pe_array_int4xint4_acc12"),
])
def test_unit_name_lists_the_non_default_parameters(name, params, unit):
    assert generators.unit_name(name, params) == unit


@pytest.mark.parametrize("name, params, expected", [
    ("mxfp4", {"scale_format": "e5m2"}, "mxfp4.scale_format: got 'e5m2'; allowed: e8m0"),
    ("mxfp4", {"a_asymmetric": True, "w_asymmetric": True}, "no generator has scale_format=e8m0, a_asymmetric=true"),
    ("mxfp4", {"a_asymmetric": True, "w_asymmetric": True, "scale_format": "e5m2"}, "that unit is generator amxfp4"),
    ("int4xint4", {"weight_format": "dint4"}, "no generator has w_bits=4, a_bits=4, weight_format=dint4"),
    ("int4xint4", {"w_bits": 8, "a_bits": 8}, "that unit is generator int8xint8"),
    ("pe_array", {"pe": "int4xint8", "weight_format": "dint4"}, "that unit is pe dint4xint8"),
])
def test_format_setting_parameters_are_refused(name, params, expected):
    with pytest.raises(ConfigError) as exc:
        generators.unit_name(name, params)
    assert expected in str(exc.value)


def test_dse_rtl_writes_files_named_after_the_unit(tmp_path, capsys):
    argv = ["rtl", "pe_array", "-p", "pe=dint4xint8", "-p", "rows=2", "-p", "cols=2", "-o", str(tmp_path)]
    assert cli.main(argv) == 0
    unit = "pe_array_dint4xint8_rows2_cols2"
    assert f"wrote {tmp_path}/{unit}.v, {unit}.vcd, {unit}.json" in capsys.readouterr().out
    summary = json.loads((tmp_path / f"{unit}.json").read_text())
    assert summary["params"] == {"pe": "dint4xint8", "rows": 2, "cols": 2} and summary["unit"] == unit
    assert summary["reset"] == generators.RESET and not any(summary["golden_mismatching_cycles"].values())
    assert f"module {unit}(" in (tmp_path / f"{unit}.v").read_text()
    assert (tmp_path / f"{unit}.vcd").read_text().startswith("$")


def test_special_shift_minus_one_is_one_line(tmp_path, capsys):
    assert cli.main(["rtl", "dint4xint8", "-p", "special_shift=-1", "-o", str(tmp_path / "out")]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and "dint4xint8.special_shift: got -1" in err
    assert not (tmp_path / "out").exists()  # refused before anything is written


def test_special_shift_zero_is_bit_exact(tmp_path, capsys):
    """k = 0: the special codes are +-a, the products w * a unshifted; the golden model must agree."""
    assert cli.main(["rtl", "dint4xint8", "-p", "special_shift=0", "--no-vcd", "-o", str(tmp_path)]) == 0
    assert "dint4xint8_shift0.json" in capsys.readouterr().out


# ---- the exported file is what Icarus runs; rst ------------------------------------------------------

CASES = [("int8xint8", {"acc_bits": 18, "overflow": "saturate"}), ("dint4xint8", {}), ("amxfp4", {"block": 4}),
         ("pe_array", {"pe": "int4xint4", "rows": 2, "cols": 2})]


@pytest.mark.cosim
@pytest.mark.parametrize("name, params", CASES)
def test_exported_verilog_is_the_file_icarus_runs(name, params, tmp_path, require_icarus):
    argv = ["rtl", name, *[f"-p={k}={v}" for k, v in params.items()], "--no-vcd", "--cycles", "16",
            "-o", str(tmp_path / "out")]
    assert cli.main(argv) == 0
    unit = generators.unit_name(name, params)
    component = generators.build(name, **params)
    inputs = stimuli.random(component, np.random.default_rng(1), 40)
    got = icarus.run(component, inputs, tmp_path / "icarus", name=unit)
    assert (tmp_path / "icarus" / f"{unit}.v").read_bytes() == (tmp_path / "out" / f"{unit}.v").read_bytes()
    assert not any(golden.mismatches(golden.outputs(component, inputs), got).values())


@pytest.mark.cosim
@pytest.mark.parametrize("name, params", CASES)
def test_rst_is_a_synchronous_clear_of_every_register(name, params, tmp_path, require_icarus):
    """After a cycle with rst = 1 the outputs read 0 and the unit then runs as a fresh one (the
    golden model from that point); rst is sampled at the clock edge only (no ``posedge rst``)."""
    component = generators.build(name, **params)
    rng = np.random.default_rng(2)
    before = 13
    inputs = stimuli.random(component, rng, 34)  # a PE array's with idle cycles after them
    inputs["rst"] = np.zeros(len(inputs["valid"]), np.int64)
    inputs["rst"][before] = 1  # with random inputs (valid, first) in the same cycle: reset wins
    got = icarus.run(component, inputs, tmp_path, name="unit")
    assert "posedge rst" not in (tmp_path / "unit.v").read_text()
    for port, values in got.items():
        assert not values[before].any(), port
    fresh = golden.outputs(component, {k: v[before + 1:] for k, v in inputs.items() if k != "rst"})
    tail = {port: values[before + 1:] for port, values in got.items()}
    assert any(values[:before].any() for values in got.values())  # the reset cleared something
    assert not any(golden.mismatches(fresh, tail).values())
