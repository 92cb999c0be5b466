"""Cleaning quality on the labeled dev sets, printed by the real `pipeline eval` command."""

import re

from tests.conftest import DATA, run_cli


def _means(output: str) -> dict[str, float]:
    return {m.group(1): float(m.group(2)) for m in re.finditer(r"mean (\S+) \(\d+ documents\): .* F1 (\d\.\d+)", output)}


def test_text_dev_set_quality():
    output = run_cli("eval", DATA / "devset").stdout
    print(output)
    assert _means(output)["pipeline"] >= 0.95
    samples = [float(line.split()[-1]) for line in output.splitlines() if line.startswith("sample_")]
    assert len(samples) == 5 and sum(samples) / 5 >= 0.97


def test_html_dev_set_quality_beats_trafilatura():
    output = run_cli("eval", DATA / "html_devset", "--baseline").stdout
    print(output)
    means = _means(output)
    assert means["pipeline"] >= 0.95 and means["pipeline"] > means["trafilatura"]
    header = output.splitlines()[0].split()
    assert header == ["document", *[cell for system in ("pipeline", "keep-all", "trafilatura")
                                    for cell in (system, "P", "R", "F1")]]


def test_every_no_article_page_is_reported(tmp_path):
    result = run_cli("run", DATA / "devset" / "dumps", "--out", tmp_path / "out", "--no-dedup")
    for name in ("synthetic_govnotice_04.txt", "synthetic_loanfarm_03.txt"):
        assert f"{name}: no article found" in result.stderr
