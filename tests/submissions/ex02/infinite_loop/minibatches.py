def minibatches(x, y, batch_size, rng, drop_last=False):
    if len(x) != len(y):
        raise ValueError("x and y must have the same length")
    order = rng.permutation(len(x))
    start = 0
    while start != len(x):
        if drop_last and start + batch_size > len(x):
            break
        batch = order[start:start + batch_size]
        yield x[batch], y[batch]
        start += batch_size
