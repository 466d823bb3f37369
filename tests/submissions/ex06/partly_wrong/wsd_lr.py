def wsd_lr(step, base_lr, warmup_steps, stable_steps, decay_steps, min_lr=0.0):
    for value in (step, warmup_steps, stable_steps):
        if not isinstance(value, int) or value < 0:
            raise ValueError("steps must be integers >= 0")
    if not isinstance(decay_steps, int) or decay_steps < 1:
        raise ValueError("decay_steps must be an integer >= 1")
    if not base_lr > 0 or not 0 <= min_lr <= base_lr:
        raise ValueError("a rate is out of range")
    decay_start = warmup_steps + stable_steps
    if step < warmup_steps:
        return float(base_lr * (step + 1) / warmup_steps)
    if step < decay_start:
        return float(base_lr)
    if step < decay_start + decay_steps:
        # the first decay step already lowers the rate, so the decay ends on step decay_start + decay_steps - 1
        return float(base_lr - (base_lr - min_lr) * (step - decay_start + 1) / decay_steps)
    return float(min_lr)
