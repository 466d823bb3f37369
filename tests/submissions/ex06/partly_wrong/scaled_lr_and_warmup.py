def scaled_lr_and_warmup(base_lr, base_batch, new_batch, base_warmup_steps, rule="linear"):
    if rule not in ("linear", "sqrt"):
        raise ValueError(f"unknown rule {rule!r}")
    if base_lr <= 0 or base_batch <= 0 or new_batch <= 0 or base_warmup_steps < 0:
        raise ValueError("rates and batch sizes must be positive, the warmup non-negative")
    scale = new_batch / base_batch
    if rule == "sqrt":
        scale = math.sqrt(scale)
    # the rate goes up by the scale, so the warmup can be that much shorter
    warmup_steps = math.ceil(base_warmup_steps / scale)
    if base_warmup_steps > 0:
        warmup_steps = max(1, warmup_steps)
    return float(base_lr * scale), warmup_steps
