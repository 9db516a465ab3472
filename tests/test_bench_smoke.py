"""The benchmarks still run (tiny sizes): figures are measured by them, not by tests."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_engine_benchmark_runs():
    done = subprocess.run([sys.executable, "bench/engine_bench.py", "--cases", "2", "--visits", "3",
                           "--loop-cases", "1", "--write", ""], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Persisted ÷ raw cost per completion" in done.stdout


def test_bulk_loader_clones_valid_cases(tmp_path):
    done = subprocess.run([sys.executable, "bench/bulk_load.py", "--url", f"sqlite:///{tmp_path / 'b.sqlite'}",
                           "--cases", "30", "--verify", "3"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
