def scaled_lr_and_warmup(base_lr, base_batch, new_batch, base_warmup_steps, rule="linear"):
    rules = {"linear": lambda k: k, "sqrt": math.sqrt}
    if rule not in rules:
        raise ValueError(f"rule must be one of {sorted(rules)}")
    if min(base_lr, base_batch, new_batch) <= 0 or base_warmup_steps < 0:
        raise ValueError("base_lr and the batch sizes must be > 0, the warmup >= 0")
    lr = base_lr * rules[rule](new_batch / base_batch)
    warmup_steps = -(-base_warmup_steps * base_batch // new_batch)  # ceiling division, in integers
    return float(lr), int(warmup_steps)
