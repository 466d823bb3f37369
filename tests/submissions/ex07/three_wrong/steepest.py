def steepest(lrs, losses, skip_start=10, skip_end=5):
    if len(lrs) != len(losses):
        raise ValueError("lrs and losses differ in length")
    lrs, losses = list(lrs)[skip_start:len(lrs) - skip_end], list(losses)[skip_start:len(losses) - skip_end]
    if len(lrs) < 3:
        raise ValueError("too few points")
    drops = np.diff(losses)  # the drop from each point to the next
    return float(lrs[int(np.argmin(drops))])
