def label_history(losses, val_losses):
    # Chapter 8's rules, checked from the mildest symptom to the most serious, each returning at once: a run
    # that shows several symptoms gets the least serious of them instead of the most.
    window = 20
    losses = np.asarray(losses, dtype=float)
    start = losses[0]
    if not np.all(np.isfinite(losses)) or losses.max() > 1000 * max(start, 1.0):
        return "diverged"  # training stopped it
    val = np.asarray(val_losses, dtype=float)
    if len(val) >= 3:
        best = int(np.argmin(val))
        train = losses[:len(losses) // len(val) * len(val)].reshape(len(val), -1).mean(axis=1)
        if best < len(val) - 1 and val[-1] > 1.1 * val[best] and train[-1] < train[best]:
            return "overfitting"
    tail = losses[-2 * window:]
    trend = np.convolve(tail, np.ones(window) / window, mode="valid")
    if np.std(tail[window - 1:] - trend) > 0.3 * max(losses[:window].mean() - trend[-1], 1e-12):
        return "noisy"
    smooth = np.convolve(losses, np.ones(window) / window, mode="valid")
    if smooth[-1] < 0.95 * smooth[0]:
        pace = (smooth[-window] - smooth[-1]) / window / ((smooth[0] - smooth[-1]) / (len(smooth) - 1))
        if pace > 0.3:
            return "too slow"
    if losses[-window:].mean() > 0.95 * start:
        return "plateau"
    changes = np.diff(tail)
    if np.mean(np.sign(changes[1:]) != np.sign(changes[:-1])) > 0.8 and \
            np.mean(np.abs(changes)) > 0.05 * abs(tail.mean()):
        return "oscillating"
    if (losses.max() > 4 * start and smooth[-1] > 0.95 * start) or \
            (smooth[-1] > 2 * smooth.min() and smooth[-1] > smooth[0]):
        return "diverged"
    return "healthy"
