def scaled_lr_and_warmup(base_lr, base_batch, new_batch, base_warmup_steps, rule="linear"):
    if rule not in ("linear", "sqrt"):
        raise ValueError("rule must be 'linear' or 'sqrt'")
    if base_lr <= 0 or base_warmup_steps < 0:
        raise ValueError("base_lr must be > 0 and the warmup >= 0")
    # count the steps of the new batch until they have seen the warmup's samples
    target, samples, warmup_steps = base_warmup_steps * base_batch, 0, 0
    while samples < target:
        samples += new_batch
        warmup_steps += 1
    k = new_batch / base_batch
    return float(base_lr * (k if rule == "linear" else math.sqrt(k))), warmup_steps
