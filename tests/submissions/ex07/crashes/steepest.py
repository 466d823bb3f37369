def steepest(lrs, losses, skip_start=10, skip_end=5):
    if len(lrs) != len(losses):
        raise ValueError("lrs and losses differ in length")
    stop = len(losses) - skip_end
    kept = np.asarray(losses[skip_start:stop], dtype=float)
    if len(kept) < 3:
        raise ValueError("fewer than 3 points left")
    return float(lrs[skip_start + int(np.argmin(np.gradient(kept)))])
