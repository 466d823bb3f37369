def adam_step(param, grad, state, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    check(lr=lr, eps=eps, weight_decay=weight_decay)
    beta1, beta2 = betas
    if not (0 <= beta1 < 1 and 0 <= beta2 < 1):
        raise ValueError("betas must be in [0, 1)")
    if state is None:
        state = {"step": 0, "exp_avg": torch.zeros_like(param), "exp_avg_sq": torch.zeros_like(param)}
    g = grad + weight_decay * param
    m = beta1 * state["exp_avg"] + (1 - beta1) * g
    v = beta2 * state["exp_avg_sq"] + (1 - beta2) * g**2
    # the moments as they are: no bias correction
    return param - lr * m / (torch.sqrt(v) + eps), {"step": state["step"] + 1, "exp_avg": m, "exp_avg_sq": v}
