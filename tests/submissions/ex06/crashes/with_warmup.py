class _Warmup:
    """A factor for LambdaLR: the ramp, then the schedule delayed by the warmup."""

    def __init__(self, factor, warmup_steps, start_factor):
        self.factor, self.warmup_steps, self.start_factor = factor, warmup_steps, start_factor

    def __call__(self, step):
        if step >= self.warmup_steps:
            return float(self.factor(step - self.warmup_steps))
        fraction = step / self.warmup_steps
        return float(self.factor(0)) * (self.start_factor * (1 - fraction) + fraction)


def with_warmup(factor, warmup_steps, start_factor=0.1):
    if type(warmup_steps) is not int or warmup_steps < 0:
        raise ValueError(f"bad warmup_steps: {warmup_steps!r}")
    if not (start_factor > 0 and start_factor <= 1):
        raise ValueError(f"bad start_factor: {start_factor!r}")
    return _Warmup(factor, warmup_steps, start_factor)
