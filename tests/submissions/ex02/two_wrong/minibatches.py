def minibatches(x, y, batch_size, rng, drop_last=False):
    order = np.arange(len(x))
    np.random.shuffle(order)
    for start in range(0, len(x) - batch_size + 1, batch_size):
        batch = order[start:start + batch_size]
        yield x[batch], y[batch]
