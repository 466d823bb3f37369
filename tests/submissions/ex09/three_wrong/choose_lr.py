def choose_lr(trial, budget, epochs):
    """One epoch at every decade, and the rate whose epoch ended lowest."""
    losses = {10.0 ** k: trial(10.0 ** k, 1)[-1] for k in range(-5, 2)}
    return min(losses, key=lambda lr: losses[lr] if math.isfinite(losses[lr]) else math.inf)
