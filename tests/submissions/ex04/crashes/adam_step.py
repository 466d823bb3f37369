def adam_step(param, grad, state, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    beta1, beta2 = betas
    for name, value in (("lr", lr), ("eps", eps), ("weight_decay", weight_decay)):
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"bad {name}: {value}")
    if not (0 <= beta1 < 1 and 0 <= beta2 < 1):
        raise ValueError(f"bad betas: {betas}")
    m = torch.zeros_like(param) if state is None else state["exp_avg"]
    v = torch.zeros_like(param) if state is None else state["exp_avg_sq"]
    t = 1 if state is None else state["step"] + 1
    g = grad + weight_decay * param
    m = torch.lerp(m, g, 1 - beta1)
    v = torch.addcmul(v * beta2, g, g, value=1 - beta2)
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    return param - lr * m_hat / (v_hat.sqrt() + eps), {"step": t, "exp_avg": m, "exp_avg_sq": v}
