def should_reduce(metrics, patience=10, threshold=1e-4):
    if isinstance(patience, bool) or not isinstance(patience, int) or patience < 0 or threshold < 0:
        raise ValueError("bad patience or threshold")
    best, count, cut = float("inf"), 0, False
    for value in metrics:
        improved = value < best * (1 - threshold)
        best = value if improved else best
        count = 0 if improved else count + 1
        cut = count > patience
        count = 0 if cut else count
    return cut
