"""Does a stronger Ricci flow go with higher accuracy? Analysis of a sweep's Parquet output.

:func:`analyze` writes the quick per-(data set, k) correlation table; :func:`write_report`
writes the full study (pooled coefficients, the chosen k, the accuracy regression, the
untrained control, figures and ``report.md``); :func:`log_report_to_mlflow` attaches that
report to a sweep's MLflow experiment.
"""

from ricci_ray.analysis.report import write_report
from ricci_ray.analysis.stats import (
    chosen_k,
    depth_adjusted,
    ols_accuracy,
    pooled_coefficients,
)
from ricci_ray.analysis.table import analyze, correlate, correlation_table, thresholds_for
from ricci_ray.analysis.tracking import log_report_to_mlflow

__all__ = [
    "analyze",
    "chosen_k",
    "correlate",
    "correlation_table",
    "depth_adjusted",
    "log_report_to_mlflow",
    "ols_accuracy",
    "pooled_coefficients",
    "thresholds_for",
    "write_report",
]
