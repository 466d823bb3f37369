def warmup_cosine_lr(step, base_lr, warmup_steps, total_steps, min_lr=0.0):
    for value in (step, warmup_steps, total_steps):
        if not isinstance(value, int) or value < 0:
            raise ValueError("steps must be integers >= 0")
    if step > total_steps or warmup_steps >= total_steps:
        raise ValueError("need step <= total_steps and warmup_steps < total_steps")
    if not base_lr > 0 or not 0 <= min_lr <= base_lr:
        raise ValueError("a rate is out of range")
    if step < warmup_steps:
        return float(base_lr * min(1.0, (step + 1) / warmup_steps))
    cosine_steps = total_steps - warmup_steps
    return float(min_lr + (base_lr - min_lr) * (1 + math.cos(math.pi * (step - warmup_steps) / cosine_steps)) / 2)
