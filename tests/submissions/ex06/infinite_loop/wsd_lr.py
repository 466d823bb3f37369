def wsd_lr(step, base_lr, warmup_steps, stable_steps, decay_steps, start_factor=0.1, min_lr=0.0):
    for value in (step, warmup_steps, stable_steps, decay_steps):
        if not isinstance(value, int) or value < 0:
            raise ValueError("steps must be integers >= 0")
    if decay_steps == 0 or not 0 < start_factor <= 1 or not base_lr > 0 or not 0 <= min_lr <= base_lr:
        raise ValueError("a setting is out of range")
    # walk through the phases to the one that holds `step` (phase 3: after the decay)
    lengths = [warmup_steps, stable_steps, decay_steps]
    phase, start = 0, 0
    while phase < len(lengths) and step >= start + lengths[phase]:
        start += lengths[phase]
        phase += 1
    if phase == 0:
        return float(base_lr * (start_factor + (1 - start_factor) * step / warmup_steps))
    if phase == 1:
        return float(base_lr)
    if phase == 2:
        return float(base_lr + (min_lr - base_lr) * (step - start) / decay_steps)
    return float(min_lr)
