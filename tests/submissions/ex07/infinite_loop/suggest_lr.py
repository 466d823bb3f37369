def suggest_lr(lrs, losses):
    if len(lrs) != len(losses) or len(lrs) < 3:
        raise ValueError("lrs and losses must be two lists of the same length, of 3 points or more")
    curve = smoothed(losses)
    return float(lrs[int(np.argmin(curve))])
