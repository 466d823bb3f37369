def adamw_step(param, grad, state, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
    if weight_decay < 0 or not math.isfinite(weight_decay):
        raise ValueError(f"bad weight_decay: {weight_decay}")
    return adam_step(param * (1 - lr * weight_decay), grad, state, lr=lr, betas=betas, eps=eps)
