def step_lr(step, base_lr, milestones, gamma=0.1):
    if step < 0 or int(step) != step or base_lr <= 0 or gamma <= 0:
        raise ValueError("bad step, base_lr or gamma")
    if isinstance(milestones, int):
        if milestones < 1:
            raise ValueError("the step size must be at least 1")
        drops = step // milestones
    else:
        if list(milestones) != sorted(milestones):
            raise ValueError("milestones must increase")
        drops = sum(step > milestone for milestone in milestones)
    return float(base_lr * gamma ** drops)
