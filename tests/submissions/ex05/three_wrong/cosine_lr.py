def cosine_lr(step, base_lr, period, min_lr=0.0, restarts=False, period_mult=1):
    if step < 0 or int(step) != step or base_lr <= 0 or period < 1 or period_mult < 1:
        raise ValueError("bad argument")
    if not 0 <= min_lr <= base_lr:
        raise ValueError("min_lr must be in [0, base_lr]")
    position = step % period if restarts else step
    return float(min_lr + 0.5 * (base_lr - min_lr) * (1 + math.cos(math.pi * position / period)))
