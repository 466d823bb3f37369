def one_cycle_lr(step, max_lr, total_steps, pct_start=0.3, div_factor=25.0, final_div_factor=1e4,
                 base_momentum=0.85, max_momentum=0.95):
    if not isinstance(step, int) or step < 0 or step > total_steps - 1 or not 0 < pct_start < 1:
        raise ValueError("bad step or pct_start")
    if not (max_lr > 0 and div_factor > 0 and final_div_factor > 0):
        raise ValueError("rates and factors must be positive")
    peak = pct_start * total_steps - 1
    if peak <= 0:
        raise ValueError("no steps to warm up")

    def anneal(a, b, f):
        return b + (a - b) * (1 + math.cos(math.pi * f)) / 2

    low, last = max_lr / div_factor, max_lr / div_factor / final_div_factor
    if step <= peak:
        return anneal(low, max_lr, step / peak), anneal(max_momentum, base_momentum, step / peak)
    f = (step - peak) / (total_steps - 1 - peak)
    return anneal(max_lr, last, f), anneal(base_momentum, max_momentum, f)
