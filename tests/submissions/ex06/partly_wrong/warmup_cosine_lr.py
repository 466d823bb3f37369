def warmup_cosine_lr(step, base_lr, warmup_steps, total_steps, min_lr=0.0):
    for name, value in (("step", step), ("warmup_steps", warmup_steps), ("total_steps", total_steps)):
        if not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} must be an integer >= 0")
    if not warmup_steps < total_steps or step > total_steps:
        raise ValueError("need step <= total_steps and warmup_steps < total_steps")
    if not base_lr > 0 or not 0 <= min_lr <= base_lr:
        raise ValueError("a rate is out of range")
    if step < warmup_steps:
        return base_lr / warmup_steps + base_lr * step / warmup_steps
    cosine = math.cos(math.pi * (step - warmup_steps) / (total_steps - warmup_steps))
    return min_lr + 0.5 * (base_lr - min_lr) * (1.0 + cosine)
