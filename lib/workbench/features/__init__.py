"""Toolkit for 02_features: leakage checks, feature importance and selection, coverage of later values."""
