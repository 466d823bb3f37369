def minimum_over_ten(lrs, losses):
    lrs, losses = np.asarray(lrs, dtype=float), np.asarray(losses, dtype=float)
    if lrs.shape != losses.shape or len(lrs) < 3:
        raise ValueError("two lists of equal length, 3 points or more")
    return float(lrs[np.argmin(losses)] / 10)
