def valley(lrs, losses):
    if len(lrs) != len(losses) or len(lrs) < 3:
        raise ValueError("need two lists of the same length, at least 3 points")
    lengths = []
    for i in range(len(losses)):
        lengths.append(1 + max([lengths[j] for j in range(i) if losses[j] > losses[i]], default=0))
    end = lengths.index(max(lengths))
    return float(lrs[end - lengths[end] // 2])
