"""Probe statistics on known inputs, and the plot described as data."""

from __future__ import annotations

import math
import statistics

import pytest
from hypothesis import given
from hypothesis import strategies as st

from egress_net.probe import (
    PlotPoint,
    ProbeRun,
    Sample,
    mean,
    percentile,
    plot_spec,
    report_text,
    run_summary_text,
    sample_sd,
    summarize,
)


def test_mean_and_sample_sd_of_known_values() -> None:
    values = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]
    assert mean(values) == 5.0
    # sum of squared deviations is 32; the sample sd divides by n - 1 = 7
    assert sample_sd(values) == pytest.approx(math.sqrt(32 / 7))


def test_sd_of_one_value_is_zero() -> None:
    assert sample_sd([9.1]) == 0.0


@pytest.mark.parametrize(
    ("p", "expected"),
    [(0, 1.0), (25, 1.75), (50, 2.5), (75, 3.25), (95, 3.85), (99, 3.97), (100, 4.0)],
)
def test_percentile_interpolates_between_closest_ranks(p: float, expected: float) -> None:
    assert percentile([4.0, 1.0, 3.0, 2.0], p) == pytest.approx(expected)


def test_percentile_of_one_value_is_that_value() -> None:
    assert percentile([13.5], 99) == 13.5


@pytest.mark.parametrize("call", [mean, sample_sd, lambda v: percentile(v, 50)])
def test_statistics_of_nothing_raise(call: object) -> None:
    with pytest.raises(ValueError):
        call([])  # type: ignore[operator]


def test_percentile_outside_range_raises() -> None:
    with pytest.raises(ValueError, match="outside"):
        percentile([1.0], 101)


@given(st.lists(st.floats(0, 1e4, allow_nan=False), min_size=2, max_size=50))
def test_agrees_with_the_standard_library(values: list[float]) -> None:
    assert mean(values) == pytest.approx(statistics.fmean(values), abs=1e-6)
    assert sample_sd(values) == pytest.approx(statistics.stdev(values), abs=1e-6)
    # statistics.quantiles(method="inclusive") is the same type-7 rule
    quartiles = statistics.quantiles(values, n=4, method="inclusive")
    assert percentile(values, 25) == pytest.approx(quartiles[0], abs=1e-6)
    assert percentile(values, 50) == pytest.approx(quartiles[1], abs=1e-6)


def test_summarize_nothing_is_none() -> None:
    assert summarize([]) is None


def _run(label: str, totals: list[float | None], errors: int = 0) -> ProbeRun:
    samples = [
        Sample(seq=i, started_at="t", total=t, ttfb=t, status=200) for i, t in enumerate(totals)
    ]
    samples += [Sample(seq=99 + i, started_at="t", error="timeout") for i in range(errors)]
    return ProbeRun(label, "https://example.com/", len(samples), 2.0, "t", samples)


def test_failed_requests_are_counted_not_averaged() -> None:
    run = _run("via firewall", [10.0, 12.0, 14.0], errors=2)
    summary = run.summaries()["total"]
    assert run.failures == 2
    assert summary is not None and summary.n == 3 and summary.mean == 12.0


def test_server_errors_count_as_failures() -> None:
    run = _run("x", [10.0])
    run.samples.append(Sample(seq=5, started_at="t", total=3.0, status=503))
    assert run.failures == 1
    assert run.phase_values("total") == [10.0]


def test_run_summary_lists_every_statistic() -> None:
    text = run_summary_text(_run("via TGW", [8.0, 10.0, 12.0], errors=1))
    assert "via TGW" in text and "4 of 4 requests" in text and "1 failed" in text
    total_row = next(line for line in text.splitlines() if line.startswith("total"))
    # mean ± sd, min, p50, p95, p99, max, n
    assert total_row.split() == [
        "total", "10.0", "±", "2.0", "8.0", "10.0", "11.8", "12.0", "12.0", "3"
    ]  # fmt: skip


def test_report_has_one_row_per_run_with_mean_sd_and_n() -> None:
    text = report_text([_run("Instance → NAT", [9.0, 9.2]), _run("via firewall", [13.0, 14.0])])
    rows = text.splitlines()[2:]
    assert [row.split("  ")[0] for row in rows] == ["Instance → NAT", "via firewall"]
    assert "9.1 ± 0.1" in rows[0] and "13.5 ± 0.7" in rows[1]
    assert rows[1].split()[5:7] == ["2", "0"]  # n, failed


def test_plot_spec_one_point_per_run_with_error_bars() -> None:
    runs = [_run("NAT", [9.0, 9.2]), _run("broken", [], errors=3), _run("firewall", [13.0, 14.0])]
    spec = plot_spec(runs)
    assert spec.points == [
        PlotPoint(0, "NAT\n(n=2)", pytest.approx(9.1), pytest.approx(0.1414, abs=1e-3), 2),
        PlotPoint(1, "firewall\n(n=2)", 13.5, pytest.approx(0.7071, abs=1e-3), 2),
    ]
    assert spec.skipped == ["broken"]
    assert spec.y_label == "total time (ms)" and "mean ± 1 sd" in spec.title


def test_plot_spec_of_another_phase() -> None:
    run = _run("NAT", [9.0])
    run.samples[0].ttfb = 4.0
    assert plot_spec([run], "ttfb").points[0].mean == 4.0
