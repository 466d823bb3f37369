def choose_lr(trial, budget, epochs):
    """A full run at every decade the budget allows, and the rate whose run ended... highest (max for min)."""
    losses = {}
    for k in range(-5, 2):
        if budget >= epochs:
            budget -= epochs
            losses[10.0 ** k] = trial(10.0 ** k, epochs)[-1]
    finite = {lr: loss for lr, loss in losses.items() if math.isfinite(loss)}
    return max(finite, key=finite.get)
