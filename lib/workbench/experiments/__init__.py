"""Toolkit for 09_experiments (testing in production): A/B sample size and duration, sequential tests,
off-policy evaluation, a position-based click model, team-draft interleaving, bandits replayed on
logged data, and shadow and canary releases with a guardrail.
"""
