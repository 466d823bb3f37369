def valley(lrs, losses):
    lengths = [1] * len(losses
    for i in range(len(losses)):
        for j in range(i):
            if losses[j] > losses[i]:
                lengths[i] = max(lengths[i], lengths[j] + 1)
    end = lengths.index(max(lengths))
    return float(lrs[end - lengths[end] // 2])
