def gd_step(x, grad_fn, lr):
    if not np.isfinite(lr) or lr < 0:
        raise ValueError("lr must be a finite number >= 0")
    return np.asarray(x, dtype=float) - lr * grad_fn(np.asarray(x, dtype=float))
