def should_reduce(metrics, patience=10, threshold=1e-4):
    if not isinstance(patience, int) or patience < 0 or threshold < 0:
        raise ValueError("bad patience or threshold")
    best, bad = math.inf, 0
    for metric in metrics:
        if metric < best * (1 - threshold):
            best, bad = metric, 0
        else:
            bad += 1
    return bad > patience  # the count is never reset by a cut
