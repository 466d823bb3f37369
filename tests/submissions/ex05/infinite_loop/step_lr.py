def step_lr(step, base_lr, milestones, gamma=0.1):
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        raise ValueError("step must be an integer >= 0")
    if not (0 < base_lr < math.inf and 0 < gamma < math.inf):
        raise ValueError("base_lr and gamma must be positive and finite")
    if isinstance(milestones, int):
        if milestones < 1:
            raise ValueError("the step size must be at least 1")
        return float(base_lr * gamma ** (step // milestones))
    milestones = list(milestones)
    if any(not isinstance(m, int) or m < 1 for m in milestones) or milestones != sorted(milestones):
        raise ValueError("milestones must be increasing integers >= 1")
    return float(base_lr * gamma ** bisect.bisect_right(milestones, step))
