def plateaued(losses, window=50, min_drop=0.01):
    if not isinstance(window, int) or window < 1 or not 0 <= min_drop < 1:
        raise ValueError("bad window or min_drop")
    values = np.asarray(losses, dtype=float)
    if len(values) < 2 * window:
        return False
    return bool(values[-window:].mean() > (1 - min_drop) * values[-2 * window:-window].mean())
