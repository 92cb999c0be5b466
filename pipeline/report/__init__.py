"""The run report: one self-contained HTML page per run, rendered from the run folder's files alone."""

from pipeline.report.render import render_report, write_report
from pipeline.report.run_files import ReportError, RunFiles, find_run_dir, load_run

__all__ = ["ReportError", "RunFiles", "find_run_dir", "load_run", "render_report", "write_report"]
