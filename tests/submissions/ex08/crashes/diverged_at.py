def diverged_at(losses, factor=4.0, window=10):
    if not factor > 1:
        raise ValueError("factor must exceed 1")
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        raise ValueError("window must be an integer >= 1")
    values = np.asarray(losses, dtype=float)
    bad = np.flatnonzero(~np.isfinite(values))
    first_bad = int(bad[0]) if len(bad) else len(values)
    sums = np.cumsum(values[:first_bad])
    counts = np.minimum(np.arange(1, first_bad + 1), window)
    means = (sums - np.concatenate([np.zeros(window), sums[:-window]])[:first_bad]) / counts
    above = np.flatnonzero(means > factor * np.minimum.accumulate(means))
    if len(above):
        return int(above[0])
    return first_bad if len(bad) else None
