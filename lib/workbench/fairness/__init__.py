"""Toolkit for 10_fairness: group metrics with intervals, cost-constrained per-group thresholds, proxies, model cards.

`groups` (who bears the errors, disparities and why the criteria conflict), `thresholds` (per-group
thresholds minimising the business cost subject to a disparity limit), `proxies` (how well other
features predict a sensitive attribute), `fairlearn_adapter` (the one module that talks to fairlearn)
and `modelcard` (a model card written from a run's recorded values).
"""
