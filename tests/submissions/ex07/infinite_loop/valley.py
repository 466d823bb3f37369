def valley(lrs, losses):
    if len(lrs) != len(losses) or len(lrs) < 3:
        raise ValueError("need two lists of the same length, at least 3 points")
    best_end, best_length = 0, 1
    for end in range(len(losses)):
        # walk back from `end`, counting the points that are higher than the last one counted
        length, i, last = 1, end - 1, losses[end]
        while i >= 0:
            if losses[i] == last:
                continue  # equal values do not count
            if losses[i] > last:
                length, last = length + 1, losses[i]
            i -= 1
        if length > best_length:
            best_end, best_length = end, length
    return float(lrs[best_end - best_length // 2])
