"""Bad input to sim.sparse: each case gives one WorkloadError line naming the field, the value and what
is allowed."""

import numpy as np
import pytest

from sim.errors import WorkloadError
from sim.sparse import conv_rules, dvp_keep, minkowski_rules, sd_conv_rules

pytestmark = pytest.mark.numba

SITES = np.array([[1, 1], [2, 3], [0, 0]], np.int32)
CASES = {
    "outside the grid": (lambda: conv_rules(np.array([[0, 0], [4, 1]]), (4, 4)),
                         ["coords[1]", "(4, 1)", "0 <= y < 4 and 0 <= x < 4"]),
    "negative": (lambda: conv_rules(np.array([[0, -1]], np.int16), (4, 4)), ["coords[0]", "(0, -1)", "0 <= x < 4"]),
    "beyond int64": (lambda: conv_rules(np.array([[2**63 + 5, 0]], np.uint64), (4, 4)),
                     ["coords[0]", f"({2**63 + 5}, 0)", "0 <= y < 4"]),
    "duplicate": (lambda: conv_rules(np.array([[1, 1], [2, 2], [0, 3], [2, 2]]), (4, 4)),
                  ["coords[3]", "(2, 2)", "distinct sites (it repeats coords[1])"]),
    "float dtype": (lambda: conv_rules(SITES.astype(np.float32), (4, 4)),
                    ["coords.dtype", "'float32'", "integer dtype"]),
    "bool dtype": (lambda: conv_rules(SITES > 0, (4, 4)), ["coords.dtype", "'bool'", "integer dtype"]),
    "three columns": (lambda: conv_rules(np.zeros((5, 3), np.int32), (4, 4)), ["coords.shape", "(5, 3)", "(n, 2)"]),
    "flat": (lambda: conv_rules(np.zeros(4, np.int32), (4, 4)), ["coords.shape", "(4,)", "(n, 2)"]),
    "empty grid": (lambda: conv_rules(SITES, (0, 4)), ["spatial_shape", "(0, 4)", "each in [1, 2147483647]"]),
    "one-axis grid": (lambda: conv_rules(SITES, (4,)), ["spatial_shape", "(4,)", "two integers"]),
    "kernel beyond grid": (lambda: conv_rules(SITES, (4, 5), 7), ["kernel", "7", "padded grid (4 on axis y)"]),
    "padded but dilated beyond": (lambda: conv_rules(SITES, (4, 5), 3, padding=1, dilation=(1, 4)),
                                  ["kernel", "3", "padded grid (7 on axis x)"]),
    "stride 0": (lambda: conv_rules(SITES, (4, 4), stride=0), ["stride", "0", "an integer >= 1"]),
    "dilation 0": (lambda: conv_rules(SITES, (4, 4), dilation=(1, 0)), ["dilation", "(1, 0)", "integer >= 1"]),
    "kernel 0": (lambda: conv_rules(SITES, (4, 4), kernel=0), ["kernel", "0", "integer >= 1"]),
    "negative padding": (lambda: conv_rules(SITES, (4, 4), padding=-1), ["padding", "-1", "an integer >= 0"]),
    "kernel triple": (lambda: conv_rules(SITES, (4, 4), kernel=(3, 3, 3)), ["kernel", "(3, 3, 3)", "(y, x) pair"]),
    "kernel bool": (lambda: conv_rules(SITES, (4, 4), kernel=True), ["kernel", "True", "integer >= 1"]),
    "kernel float": (lambda: conv_rules(SITES, (4, 4), kernel=3.0), ["kernel", "3.0", "integer >= 1"]),
    "subm strided": (lambda: conv_rules(SITES, (4, 4), stride=2, subm=True), ["stride", "2", "1 for a submanifold"]),
    "subm even kernel": (lambda: conv_rules(SITES, (4, 4), kernel=2, subm=True), ["kernel", "2", "odd sizes"]),
    "subm padding": (lambda: conv_rules(SITES, (4, 4), padding=2, subm=True),
                     ["padding", "2", "0 or (1, 1) (the 'same' padding)"]),
    "t zero": (lambda: sd_conv_rules(SITES, (4, 4), np.ones(3), 0), ["top_percent", "0", "(0, 100]"]),
    "t above 100": (lambda: sd_conv_rules(SITES, (4, 4), np.ones(3), 100.5), ["top_percent", "100.5", "(0, 100]"]),
    "t NaN": (lambda: sd_conv_rules(SITES, (4, 4), np.ones(3), float("nan")), ["top_percent", "nan", "(0, 100]"]),
    "t text": (lambda: sd_conv_rules(SITES, (4, 4), np.ones(3), "2"), ["top_percent", "'2'", "a number"]),
    "sd scores short": (lambda: sd_conv_rules(SITES, (4, 4), np.ones(2), 2),
                        ["scores", "'float64 array of shape (2,)'", "(3 values)"]),
    "sd NaN score": (lambda: sd_conv_rules(SITES, (4, 4), [1, np.nan, 2], 2), ["scores[1]", "nan", "not NaN"]),
    "sd even kernel": (lambda: sd_conv_rules(SITES, (4, 4), np.ones(3), 2, kernel=(3, 2)), ["kernel", "(3, 2)", "odd"]),
    "ratio zero": (lambda: dvp_keep(np.ones(3), ratio=0), ["ratio", "0", "(0, 1]"]),
    "ratio above 1": (lambda: dvp_keep(np.ones(3), ratio=1.5), ["ratio", "1.5", "(0, 1]"]),
    "both rules": (lambda: dvp_keep(np.ones(3), ratio=0.5, threshold=1.0),
                   ["ratio/threshold", "(0.5, 1.0)", "exactly one"]),
    "neither rule": (lambda: dvp_keep(np.ones(3)), ["ratio/threshold", "(None, None)", "exactly one"]),
    "threshold NaN": (lambda: dvp_keep(np.ones(3), threshold=float("nan")), ["threshold", "nan", "not NaN"]),
    "dvp NaN score": (lambda: dvp_keep([0.5, 2.0, np.nan], ratio=0.5), ["scores[2]", "nan", "not NaN"]),
    "dvp 2-D scores": (lambda: dvp_keep(np.ones((3, 2)), ratio=0.5),
                       ["scores", "'float64 array of shape (3, 2)'", "one real number per row"]),
    "minkowski stride 0": (lambda: minkowski_rules(SITES, (4, 4), stride=0), ["stride", "0", "integer >= 1"]),
}


@pytest.mark.parametrize("case", CASES)
def test_bad_input_gives_one_clear_line(case):
    call, parts = CASES[case]
    with pytest.raises(WorkloadError) as info:
        call()
    message = str(info.value)
    assert "\n" not in message
    field, value, allowed = parts
    given, rule = message.split("; allowed: ")
    assert given == f"{field}: got {value}" and allowed in rule, message
