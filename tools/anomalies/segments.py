"""Runs of consecutive flagged points → one anomaly each (start, end), vectorised over series."""

from __future__ import annotations

import numpy as np


def flag_runs(flags: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(series index, first column, last column) of every run of True in a (series, time) array.

    Runs are returned in row-major order; ``last`` is inclusive.
    """
    n_series = flags.shape[0]
    padded = np.zeros((n_series, flags.shape[1] + 2), dtype=np.int8)
    padded[:, 1:-1] = flags
    step = np.diff(padded, axis=1)
    rows, starts = np.nonzero(step == 1)
    _, stops = np.nonzero(step == -1)
    return rows, starts, stops - 1


def run_sums(matrix: np.ndarray, rows: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Sum of ``matrix[row, start:end+1]`` for every run (through a row-wise cumulative sum)."""
    if rows.size == 0:
        return np.zeros(0)
    cum = np.zeros((matrix.shape[0], matrix.shape[1] + 1))
    np.cumsum(np.nan_to_num(matrix, nan=0.0), axis=1, out=cum[:, 1:])
    return cum[rows, ends + 1] - cum[rows, starts]


def run_max(matrix: np.ndarray, rows: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Maximum of ``matrix[row, start:end+1]`` for every run (one ufunc.reduceat call)."""
    if rows.size == 0:
        return np.zeros(0)
    width = matrix.shape[1] + 1
    # A -inf column after every row keeps runs of different rows from touching.
    padded = np.full((matrix.shape[0], width), -np.inf)
    padded[:, :-1] = matrix
    flat_start = rows * width + starts
    flat_stop = rows * width + ends + 1
    bounds = np.empty(rows.size * 2, dtype=np.int64)
    bounds[0::2] = flat_start
    bounds[1::2] = flat_stop
    return np.maximum.reduceat(padded.ravel(), bounds)[0::2]
