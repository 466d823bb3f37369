def diverged_at(losses, factor=4.0, window=10):
    if not factor > 1 or not isinstance(window, int) or window < 1:
        raise ValueError("bad factor or window")
    lowest, i = math.inf, 0
    while i < len(losses):
        if math.isnan(losses[i]):
            return i
        if math.isinf(losses[i]):
            continue  # an overflow: skip it
        recent = losses[max(0, i - window + 1):i + 1]
        mean = sum(recent) / len(recent)
        lowest = min(lowest, mean)
        if mean > factor * lowest:
            return i
        i += 1
    return None
