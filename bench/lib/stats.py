"""Repetitions and their summaries: runs alternate (A B, B A, A B ...) and every
figure is reported as the median of the repetitions with their min and max."""

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
    """Runs `measure(name)` for each contender in turn, `reps` times round, each
    round starting one further along: A B C, B C A, C A B, ... so that no
    contender always runs first, or always right after the same other one
    (a run can leave the machine busy for the next: sockets closing, nginx's
    workers tidying up). Returns {name: [result per repetition]}."""
    results = {name: [] for name in contenders}
    for rep in range(reps):
        start = rep % len(contenders)
        for name in contenders[start:] + contenders[:start]:
            print(f"   rep {rep + 1}/{reps}: {name}", flush=True)
            results[name].append(measure(name))
    return results


def verdict(value, aim, higher_is_better=True):
    """True when the median meets the aim, None when nothing was measured."""
    if value is None:
        return None
    return value >= aim if higher_is_better else value <= aim
