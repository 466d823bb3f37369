def sgd_linear_regression(x, y, lr, batch_size, num_epochs, seed=0):
    w, b = np.zeros(x.shape[1]), 0.0
    rng = np.random.default_rng(seed)
    losses = []
    steps_per_epoch = len(x) / batch_size
    for step in range(num_epochs * steps_per_epoch):
        for xb, yb in minibatches(x, y, batch_size, rng):
            r = xb @ w + b - yb
            losses.append(np.mean(r ** 2))
            w -= lr * 2 * xb.T @ r / len(yb)
            b -= lr * 2 * r.mean()
    return w, b, np.array(losses)
