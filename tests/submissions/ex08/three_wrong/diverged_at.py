def diverged_at(losses, factor=4.0, window=10):
    if factor <= 1 or not isinstance(window, int) or window < 1:
        raise ValueError("factor must exceed 1 and window must be a positive integer")
    start = None
    for i, loss in enumerate(losses):
        if not math.isfinite(loss):
            return i
        recent = losses[max(0, i - window + 1):i + 1]
        mean = sum(recent) / len(recent)
        if start is None:
            start = mean  # compared with where the run started, not with its lowest point
        if mean > factor * start:
            return i
    return None
