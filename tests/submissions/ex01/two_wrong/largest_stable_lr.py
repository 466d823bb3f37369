def largest_stable_lr(grad_fn, x):
    x = np.asarray(x, dtype=float)
    if x.ndim != 1 or x.size == 0 or not np.all(np.isfinite(x)):
        raise ValueError("x must be a non-empty 1-D array of finite numbers")
    if np.shape(grad_fn(x)) != x.shape:
        raise ValueError("grad_fn(x) must have the same shape as x")
    v = np.random.default_rng(42).standard_normal(x.size)
    v /= np.linalg.norm(v)
    eps = 1e-6
    lam = 0.0
    for _ in range(300):
        hv = (grad_fn(x + eps * v) - grad_fn(x - eps * v)) / (2 * eps)
        new_lam = float(v @ hv)
        v = hv / np.linalg.norm(hv)
        if abs(new_lam - lam) < 1e-7 * abs(new_lam):
            break
        lam = new_lam
    # lr < 1 / lambda_max keeps every step safe
    return 1.0 / new_lam
