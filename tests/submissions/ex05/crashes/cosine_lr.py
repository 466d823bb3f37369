def cosine_lr(step, base_lr, period, min_lr=0.0, restarts=False, period_mult=1):
    if not isinstance(step, int) or step < 0 or not base_lr > 0 or not math.isfinite(base_lr):
        raise ValueError("bad step or base_lr")
    if not isinstance(period, int) or period < 1 or not isinstance(period_mult, int) or period_mult < 1:
        raise ValueError("bad period")
    if min_lr < 0 or min_lr > base_lr:
        raise ValueError("bad min_lr")
    t, length = step, period
    while restarts and t >= length:
        t, length = t - length, length * period_mult
    return min_lr + (base_lr - min_lr) * (math.cos(math.pi * t / length) + 1) / 2
