def polynomial_lr(step, base_lr, total_steps, power=1.0):
    return float(base_lr * (1 - min(step, total_steps) / total_steps) ** power
