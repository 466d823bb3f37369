def step_lr(step, base_lr, milestones, gamma=0.1):
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        raise ValueError("step must be an integer >= 0")
    if not (base_lr > 0 and gamma > 0 and math.isfinite(base_lr) and math.isfinite(gamma)):
        raise ValueError("base_lr and gamma must be positive")
    if isinstance(milestones, int):
        if milestones < 1:
            raise ValueError("step size must be >= 1")
        milestones = range(milestones, step + 1, milestones)
    elif any(b <= a for a, b in zip(milestones, milestones[1:])) or any(m < 1 for m in milestones):
        raise ValueError("milestones must increase")
    lr = base_lr
    for milestone in milestones:
        if step >= milestone:
            lr *= gamma
    return float(lr)
