def minimum_over_ten(lrs, losses):
    if len(lrs) != len(losses) or len(lrs) < 3:
        raise ValueError("need two lists of the same length, at least 3 points")
    best = min(range(len(losses)), key=lambda i: losses[i])
    return float(lrs[best]) / 10
