def wsd_lr(step, base_lr, warmup_steps, stable_steps, decay_steps, min_lr=0.0):
    for value in (warmup_steps, stable_steps, decay_steps):
        if not isinstance(value, int) or value < 0:
            raise ValueError("the phase lengths must be integers >= 0")
    if step < 0 or decay_steps < 1:
        raise ValueError("need step >= 0 and decay_steps >= 1")
    if not 0 < base_lr < math.inf or not 0 <= min_lr <= base_lr:
        raise ValueError("a rate is out of range")
    # play the schedule forward from step 0, one step at a time, as a scheduler would
    t = 0
    while True:
        if t < warmup_steps:
            rate = base_lr * (t + 1) / warmup_steps
        elif t <= warmup_steps + stable_steps:
            rate = base_lr
        elif t <= warmup_steps + stable_steps + decay_steps:
            rate = base_lr + (min_lr - base_lr) * (t - warmup_steps - stable_steps) / decay_steps
        else:
            rate = min_lr
        if t == step:
            return float(rate)
        t += 1
