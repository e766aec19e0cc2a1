"""Repetitions and their summaries: runs alternate A B A B ... and every figure is
reported as the median of the repetitions with their min and max."""

import statistics


def summary(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "n": len(values)}


def ratios(numerators, denominators):
    """Same-repetition ratios: run i of A over run i of B (both measured moments
    apart), so load from other work on the machine cancels out as far as it can."""
    return [a / b for a, b in zip(numerators, denominators) if a is not None and b]


def fmt(s, spec="{:.2f}", suffix=""):
    """`median (min–max)`, or `–` when there is nothing."""
    if not s:
        return "–"
    m, lo, hi = (spec.format(s[k]) for k in ("median", "min", "max"))
    return f"{m}{suffix} ({lo}–{hi})"


def alternate(reps, contenders, measure):
    """Runs `measure(name)` for each contender in turn, `reps` times round:
    A B C A B C ... Returns {name: [result per repetition]}."""
    results = {name: [] for name in contenders}
    for rep in range(reps):
        for name in contenders:
            print(f"   rep {rep + 1}/{reps}: {name}", flush=True)
            results[name].append(measure(name))
    return results


def verdict(value, aim, higher_is_better=True):
    """True when the median meets the aim, None when nothing was measured."""
    if value is None:
        return None
    return value >= aim if higher_is_better else value <= aim
