def label_history(losses, val_losses):
    # Fixed thresholds on the loss itself, read off one run at ln(10) = 2.3: a loss still near 2 has not
    # learnt, one above 0.5 is slow. They hold for ten classes only, and do not look at the shape of the curve.
    losses = np.asarray(losses, dtype=float)
    if not np.all(np.isfinite(losses)) or losses.max() > 100:
        return "diverged"
    end = losses[-20:].mean()
    if end > 2.0:
        return "plateau"
    if end > 0.5:
        return "too slow"
    changes = np.diff(losses[-40:])
    if np.mean(np.sign(changes[1:]) != np.sign(changes[:-1])) > 0.8:
        return "oscillating"
    if np.std(losses[-40:]) > 0.1:
        return "noisy"
    if len(val_losses) >= 3 and val_losses[-1] > 1.1 * min(val_losses):
        return "overfitting"
    return "healthy"
