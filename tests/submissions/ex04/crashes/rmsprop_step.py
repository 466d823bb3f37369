def rmsprop_step(param, grad, state, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, centered=False):
    if lr < 0 or eps < 0 or weight_decay < 0 or not 0 <= alpha < 1 or math.isnan(lr) or math.isinf(lr):
        raise ValueError("a setting is out of range")
    if state is None:
        state = {"step": 0, "square_avg": torch.zeros_like(param)}
    g = grad + weight_decay * param if weight_decay else grad.clone()
    square_avg = state["square_avg"] * alpha + g * g * (1 - alpha)
    new_state = {"step": state["step"] + 1, "square_avg": square_avg}
    if centered:
        grad_avg = state["grad_avg"] * alpha + g * (1 - alpha)
        new_state["grad_avg"] = grad_avg
        square_avg = square_avg - grad_avg * grad_avg
    return param - lr * g / (square_avg.sqrt() + eps), new_state
