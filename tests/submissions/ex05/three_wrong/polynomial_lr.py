def polynomial_lr(step, base_lr, total_steps, power=1.0):
    if step < 0 or int(step) != step or base_lr <= 0 or power <= 0 or total_steps < 1:
        raise ValueError("bad argument")
    return float(base_lr * max(0.0, 1 - step / total_steps) ** power)
