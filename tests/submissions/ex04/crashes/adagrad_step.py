def adagrad_step(param, grad, state, lr=1e-2, lr_decay=0.0, weight_decay=0.0, eps=1e-10):
    if state is None:
        state = {"step": 0, "sum": torch.zeros_like(param)
    g = grad + weight_decay * param
    total = state["sum"] + g * g
    return param - lr * g / (total.sqrt() + eps), {"step": state["step"] + 1, "sum": total}
