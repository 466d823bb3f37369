def with_warmup(factor, warmup_steps):
    if not isinstance(warmup_steps, int) or warmup_steps < 0:
        raise ValueError("warmup_steps must be a non-negative integer")

    def g(step):
        # scale the schedule by a ramp that climbs from 1/W to 1 over the warmup
        if step < warmup_steps:
            return float(factor(step) * (step + 1) / warmup_steps)
        return float(factor(step))

    return g
