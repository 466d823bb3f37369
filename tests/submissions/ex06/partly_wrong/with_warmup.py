def with_warmup(factor, warmup_steps, start_factor=0.1):
    if not isinstance(warmup_steps, int) or warmup_steps < 0:
        raise ValueError("warmup_steps must be a non-negative integer")
    if not 0 < start_factor <= 1:
        raise ValueError("start_factor must be in (0, 1]")

    def g(step):
        # scale the schedule by a ramp that climbs from start_factor to 1 over the warmup
        if step < warmup_steps:
            return float(factor(step) * (start_factor + (1 - start_factor) * step / warmup_steps))
        return float(factor(step))

    return g
