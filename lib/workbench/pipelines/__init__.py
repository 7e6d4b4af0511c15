"""Toolkit for 07_pipelines: window features point-in-time and naive (`windows`), the same computed as a
stream (`stream`), the serving path with injected train/serving skew and its comparer (`skew`), and
file formats and access patterns (`formats`).
"""
