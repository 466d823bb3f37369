def adagrad_step(param, grad, state, lr=1e-2, lr_decay=0.0, weight_decay=0.0, eps=1e-10):
    for value in (lr, lr_decay, weight_decay, eps):
        if not math.isfinite(value) or value < 0:
            raise ValueError("every setting must be a finite number >= 0")
    step = 1 if state is None else state["step"] + 1
    g = grad + weight_decay * param
    total = g * g if state is None else state["sum"] + g * g
    return param - lr / (1 + (step - 1) * lr_decay) * g / (total.sqrt() + eps), {"step": step, "sum": total}
