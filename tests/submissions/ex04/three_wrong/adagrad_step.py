def check(**settings):
    for name, value in settings.items():
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"{name} must be finite and >= 0")


def adagrad_step(param, grad, state, lr=1e-2, lr_decay=0.0, weight_decay=0.0, eps=1e-10):
    check(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay, eps=eps)
    if state is None:
        state = {"step": 0, "sum": torch.zeros_like(param)}
    g = grad + weight_decay * param
    step = state["step"] + 1
    total = state["sum"] + g**2
    return param - lr / (1 + (step - 1) * lr_decay) * g / (torch.sqrt(total) + eps), {"step": step, "sum": total}
