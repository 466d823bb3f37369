def rmsprop_step(param, grad, state, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, centered=False):
    check(lr=lr, eps=eps, weight_decay=weight_decay)
    if not 0 <= alpha < 1:
        raise ValueError("alpha must be in [0, 1)")
    if state is None:
        state = {"step": 0, "square_avg": torch.zeros_like(param), "grad_avg": torch.zeros_like(param)}
    g = grad + weight_decay * param
    square_avg = alpha * state["square_avg"] + (1 - alpha) * g**2
    grad_avg = alpha * state["grad_avg"] + (1 - alpha) * g
    spread = square_avg - grad_avg**2 if centered else square_avg
    new_state = {"step": state["step"] + 1, "square_avg": square_avg, "grad_avg": grad_avg}
    return param - lr * g / (torch.sqrt(spread) + eps), new_state
