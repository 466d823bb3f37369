def scaled_lr(base_lr, base_batch_size, batch_size, rule="linear"):
    if base_lr <= 0 or not np.isfinite(base_lr):
        raise ValueError("base_lr must be a positive finite number")
    for size in (base_batch_size, batch_size):
        if not isinstance(size, (int, np.integer)) or size <= 0:
            raise ValueError("batch sizes must be positive integers")
    if rule not in ("linear", "sqrt"):
        raise ValueError("rule must be 'linear' or 'sqrt'")
    ratio = batch_size / base_batch_size
    return base_lr * (ratio if rule == "linear" else np.sqrt(ratio))
