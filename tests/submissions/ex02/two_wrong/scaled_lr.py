def scaled_lr(base_lr, base_batch_size, batch_size, rule="linear"):
    if not (np.isfinite(base_lr) and base_lr > 0):
        raise ValueError("base_lr must be positive")
    if int(base_batch_size) != base_batch_size or int(batch_size) != batch_size or min(base_batch_size, batch_size) < 1:
        raise ValueError("batch sizes must be positive integers")
    factor = batch_size / base_batch_size
    if rule == "linear":
        return base_lr * factor
    elif rule == "sqrt":
        return base_lr * factor ** 0.5
    raise ValueError(f"unknown rule {rule}")
