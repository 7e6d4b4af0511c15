"""Toolkit for 04_retraining: a case's timeline and the day-by-day backtest of retraining cadences."""
