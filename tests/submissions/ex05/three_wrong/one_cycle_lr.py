def one_cycle_lr(step, max_lr, total_steps, pct_start=0.3, div_factor=25.0, final_div_factor=1e4,
                 base_momentum=0.85, max_momentum=0.95):
    peak = pct_start * total_steps - 1
    if step < 0 or step >= total_steps or not 0 < pct_start < 1 or max_lr <= 0 or peak <= 0:
        raise ValueError("bad argument")
    start, end = max_lr / div_factor, max_lr / div_factor / final_div_factor
    # straight lines instead of half cosines
    if step <= peak:
        fraction = step / peak
        return start + (max_lr - start) * fraction, max_momentum + (base_momentum - max_momentum) * fraction
    fraction = (step - peak) / (total_steps - 1 - peak)
    return max_lr + (end - max_lr) * fraction, base_momentum + (max_momentum - base_momentum) * fraction
