def sgd_linear_regression(x, y, lr, batch_size, num_epochs, seed=0):
    if not np.isfinite(lr) or lr < 0:
        raise ValueError("lr must be a finite number >= 0")
    if not isinstance(num_epochs, int) or num_epochs < 0:
        raise ValueError("num_epochs must be a non-negative integer")
    w = np.zeros(x.shape[1])
    b = 0.0
    rng = np.random.default_rng(seed)
    losses = []
    for epoch in range(num_epochs):
        order = rng.permutation(len(x))
        for start in range(0, len(x), batch_size):
            idx = order[start:start + batch_size]
            r = x[idx] @ w + b - y[idx]
            losses.append(np.mean(r ** 2))
            w = w - lr * 2 / len(idx) * x[idx].T @ r
            b = b - lr * 2 * np.mean(r)
    return w, b, np.array(losses)
