def adamw_step(param, grad, state, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
    check(lr=lr, eps=eps, weight_decay=weight_decay)
    beta1, beta2 = betas
    if not (0 <= beta1 < 1 and 0 <= beta2 < 1):
        raise ValueError("betas must be in [0, 1)")
    if state is None:
        state = {"step": 0, "exp_avg": torch.zeros_like(param), "exp_avg_sq": torch.zeros_like(param)}
    t = state["step"] + 1
    m = beta1 * state["exp_avg"] + (1 - beta1) * grad
    v = beta2 * state["exp_avg_sq"] + (1 - beta2) * grad**2
    m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
    new_param = param * (1 - lr * weight_decay) - lr * m_hat / (torch.sqrt(v_hat) + eps)
    return new_param, {"step": t, "exp_avg": m, "exp_avg_sq": v}
