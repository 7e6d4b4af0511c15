"""How many users an A/B test needs, what it can detect, and how long it runs (statsmodels' power).

Two-sided tests at level `alpha` with power `power`, two arms of equal size unless `ratio` says
otherwise. Rates use Cohen's effect size h = 2 asin(sqrt(p1)) - 2 asin(sqrt(p2)) (statsmodels'
`proportion_effectsize`); means (e.g. the cost of one decision) use the difference over the
standard deviation of one observation.
"""

from __future__ import annotations

import math

__all__ = [
    "ab_duration_days",
    "detectable_difference",
    "detectable_proportion",
    "mean_sample_size",
    "proportion_sample_size",
]


def _check(alpha: float, power: float) -> None:
    if not 0 < alpha < 1 or not 0 < power < 1:
        raise ValueError(f"alpha and power must lie in (0, 1), got alpha={alpha}, power={power}")


def proportion_sample_size(p_control: float, p_treatment: float, *, alpha: float = 0.05, power: float = 0.8,
                           ratio: float = 1.0) -> int:
    """Users in the control arm (the treatment arm has ratio times as many) to detect p_control -> p_treatment."""
    from statsmodels.stats.power import NormalIndPower
    from statsmodels.stats.proportion import proportion_effectsize

    _check(alpha, power)
    if not (0 < p_control < 1 and 0 < p_treatment < 1) or p_control == p_treatment:
        raise ValueError(f"need two different rates in (0, 1), got {p_control} and {p_treatment}")
    h = abs(float(proportion_effectsize(p_treatment, p_control)))
    n = NormalIndPower().solve_power(effect_size=h, alpha=alpha, power=power, ratio=ratio, alternative="two-sided")
    return math.ceil(float(n))


def mean_sample_size(difference: float, sd: float, *, alpha: float = 0.05, power: float = 0.8,
                     ratio: float = 1.0) -> int:
    """Observations in the control arm to detect a change of `difference` in a mean whose rows have standard deviation sd."""
    from statsmodels.stats.power import NormalIndPower

    _check(alpha, power)
    if difference == 0 or sd <= 0:
        raise ValueError(f"need a non-zero difference and a positive sd, got {difference} and {sd}")
    n = NormalIndPower().solve_power(effect_size=abs(difference) / sd, alpha=alpha, power=power, ratio=ratio,
                                     alternative="two-sided")
    return math.ceil(float(n))


def detectable_proportion(p_control: float, n_per_arm: float, *, alpha: float = 0.05, power: float = 0.8) -> float:
    """The smallest rate above p_control that n_per_arm users in each arm detect with this power."""
    from statsmodels.stats.power import NormalIndPower

    _check(alpha, power)
    if not 0 < p_control < 1 or n_per_arm < 2:
        raise ValueError(f"need a rate in (0, 1) and at least 2 users per arm, got {p_control} and {n_per_arm}")
    h = float(NormalIndPower().solve_power(nobs1=n_per_arm, alpha=alpha, power=power, ratio=1.0,
                                           alternative="two-sided"))
    angle = min(math.asin(math.sqrt(p_control)) + h / 2, math.pi / 2)
    return math.sin(angle) ** 2


def detectable_difference(sd: float, n_per_arm: float, *, alpha: float = 0.05, power: float = 0.8) -> float:
    """The smallest change in a mean (rows with standard deviation sd) that n_per_arm rows in each arm detect."""
    from statsmodels.stats.power import NormalIndPower

    _check(alpha, power)
    if sd <= 0 or n_per_arm < 2:
        raise ValueError(f"need a positive sd and at least 2 rows per arm, got {sd} and {n_per_arm}")
    d = float(NormalIndPower().solve_power(nobs1=n_per_arm, alpha=alpha, power=power, ratio=1.0,
                                           alternative="two-sided"))
    return d * sd


def ab_duration_days(n_per_arm: int, daily_traffic: float, *, arms: int = 2, share: float = 1.0) -> int:
    """Whole days until every arm has n_per_arm users, when `share` of daily_traffic enters the test."""
    if daily_traffic <= 0 or not 0 < share <= 1 or arms < 1:
        raise ValueError(f"need daily_traffic > 0, share in (0, 1] and arms >= 1, got {daily_traffic}, {share}, {arms}")
    return max(1, math.ceil(n_per_arm * arms / (daily_traffic * share)))
