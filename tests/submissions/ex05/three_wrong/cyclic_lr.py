def cyclic_lr(step, base_lr, max_lr, step_size_up, step_size_down=None, mode="triangular"):
    down = step_size_up if step_size_down is None else step_size_down
    if step < 0 or int(step) != step or base_lr <= 0 or max_lr < base_lr or step_size_up < 1 or down < 1:
        raise ValueError("bad argument")
    if mode not in ("triangular", "triangular2"):
        raise ValueError(f"unknown mode {mode}")
    cycle = step // (step_size_up + down)
    t = step - cycle * (step_size_up + down)
    fraction = t / step_size_up if t <= step_size_up else 1 - (t - step_size_up) / down
    if mode == "triangular2":
        fraction /= 2**cycle
    return float(base_lr + (max_lr - base_lr) * fraction)
