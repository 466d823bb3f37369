def wsd_lr(step, base_lr, warmup_steps, stable_steps, decay_steps, min_lr=0.0):
    if min(step, warmup_steps, stable_steps) < 0 or decay_steps < 1 or step != int(step):
        raise ValueError("steps out of range")
    if base_lr <= 0 or not 0 <= min_lr <= base_lr:
        raise ValueError("rates out of range")
    warmup_progress = min((step + 1) / warmup_steps, 1.0)
    decay_progress = min(max(step - warmup_steps - stable_steps, 0) / decay_steps, 1.0)
    if warmup_progress < 1:
        return base_lr * warmup_progress
    return base_lr + (min_lr - base_lr) * decay_progress
