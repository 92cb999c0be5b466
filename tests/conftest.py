import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent
RAW = ROOT / "raw"
DATA = Path(__file__).resolve().parent / "data"

# Derived tables are cached on disk; the suite starts from an empty cache of its own every time.
os.environ["PIPELINE_CACHE_DIR"] = tempfile.mkdtemp(prefix="pipeline-cache-")

# The last body sentence of each sample article, read off the dumps by hand.
SAMPLE_LAST_SENTENCES = {
    "000_d4cb2d620e5ba3d0.txt": "借款人应增强法律意识,了解自身权利,遇到不法催收行为时及时维权。",
    "001_386c8cc45b7cb5d6.txt": "合法催收可以理解,违法催收必须抵制。",
    "002_51604c16d3e53169.txt": "网贷逾期会对个人信用产生严重负面影响,因此借款人应当按时还款,避免逾期。",
    "003_ebe907049f0875d6.txt": "借款人应增强法律意识,了解自身权益,避免落入非法催收的陷阱。",
    "004_ca42f5a0b652b792.txt": "鼓励平台制定内部催收规范,确保催收人员的行为符合行业标准。",
}
RESIDUE = ["相关文章", "大家都在看", "相关内容", "返回顶部", "To Top", "扫描二维码", "版权声明", "盲盒", "上一篇", "admin"]


def run_cli(*args, cwd=ROOT, check=True):
    """Runs the real command line in a subprocess, as a user would."""
    result = subprocess.run([sys.executable, "-m", "pipeline", *map(str, args)], cwd=cwd,
                            capture_output=True, text=True, timeout=600)
    if check and result.returncode not in (0, 1):
        raise AssertionError(f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}")
    return result


def read_records(out: Path) -> pd.DataFrame:
    return pd.read_csv(out / "records.csv", encoding="utf-8-sig", keep_default_na=False, dtype=str)


def latest_summary(out: Path) -> dict:
    """run.json of the latest finished run."""
    latest = (out / "latest_run").read_text().strip()
    return json.loads((out / "runs" / latest / "run.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def sample_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("sample_run")
    result = run_cli("run", RAW, "--out", out, "--workers", "1")
    return out, result
