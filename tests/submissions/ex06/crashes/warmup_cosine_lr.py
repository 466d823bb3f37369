def warmup_cosine_lr(step, base_lr, warmup_steps, total_steps, min_lr=0.0):
    if step < 0 or step > total_steps or warmup_steps >= total_steps
        raise ValueError("step out of range")
    if step < warmup_steps:
        return base_lr * (step + 1) / warmup_steps
    progress = (step - warmup_steps) / (total_steps - warmup_steps)
    return min_lr + (base_lr - min_lr) * (1 + math.cos(math.pi * progress)) / 2
