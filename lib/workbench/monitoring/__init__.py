"""Toolkit for 05_monitoring: two-sample statistics, drift detectors, the evidently adapter, alert rules,
injected shifts, and performance estimated without labels.
"""
