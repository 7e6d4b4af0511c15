"""Shared modelling every decision uses: splits, preprocessing, the LightGBM wrapper, baselines, metrics, plots."""
