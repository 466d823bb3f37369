def minibatches(x, y, batch_size, rng, drop_last=False):
    if batch_size < 1 or int(batch_size) != batch_size:
        raise ValueError("batch_size must be a positive integer")
    if len(x) != len(y):
        raise ValueError("x and y differ in length")
    order = rng.permutation(len(x))
    n_batches = len(x) // batch_size if drop_last else -(-len(x) // batch_size)
    for i in range(n_batches):
        idx = order[i * batch_size:(i + 1) * batch_size]
        yield x[idx], y[idx]
