"""Toolkit for 03_metrics (and model evaluation): calibration, class imbalance, slice metrics."""
