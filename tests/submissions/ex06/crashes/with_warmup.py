class _Warmup:
    """A factor for LambdaLR: the ramp, then the schedule delayed by the warmup."""

    def __init__(self, factor, warmup_steps):
        self.factor, self.warmup_steps = factor, warmup_steps

    def __call__(self, step):
        if step >= self.warmup_steps:
            return float(self.factor(step - self.warmup_steps))
        return float(self.factor(0)) * min(1.0, (step + 1) / self.warmup_steps)


def with_warmup(factor, warmup_steps):
    if type(warmup_steps) is not int or warmup_steps < 0:
        raise ValueError(f"bad warmup_steps: {warmup_steps!r}")
    return _Warmup(factor, warmup_steps)
