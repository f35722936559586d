"""The shared benchmark harness: interleaving, medians, paired ratios (no timings asserted)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from harness import interleaved_medians, interleaved_times, paired_ratios, print_table  # noqa: E402


def test_rounds_rotate_and_every_side_runs_repeats_times(capsys):
    calls = []
    times = interleaved_times({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, repeats=3, warmup=1)
    assert calls == ["a", "b", "a", "b", "b", "a", "a", "b"]  # warm-up, then rotated rounds
    assert {k: len(v) for k, v in times.items()} == {"a": 3, "b": 3}
    assert paired_ratios({"a": [1.0, 2.0], "b": [2.0, 2.0]}, "b") == {"a": 0.75, "b": 1.0}
    assert set(interleaved_medians({"x": lambda: None}, repeats=2)) == {"x"}
    print_table([{"case": "x", "ratio": 0.51234}], ["case", "ratio"])
    assert "| x | 0.512 |" in capsys.readouterr().out
