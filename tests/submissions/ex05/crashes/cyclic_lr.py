def cyclic_lr(step, base_lr, max_lr, step_size_up, step_size_down=None, mode="triangular"):
    if step < 0 or int(step) != step or base_lr <= 0 or max_lr < base_lr or step_size_up < 1:
        raise ValueError("bad argument")
    if mode not in ("triangular", "triangular2"):
        raise ValueError(f"unknown mode {mode}")
    cycle_length = step_size_up + step_size_down
    cycle, t = divmod(step, cycle_length)
    height = t / step_size_up if t <= step_size_up else (cycle_length - t) / step_size_down
    return float(base_lr + (max_lr - base_lr) * height * (0.5**cycle if mode == "triangular2" else 1.0))
