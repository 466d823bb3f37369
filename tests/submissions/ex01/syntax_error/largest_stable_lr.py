def largest_stable_lr(grad_fn, x):
    x = np.array(x, dtype=float)
    if x.ndim != 1 or len(x) == 0 or not np.isfinite(x).all():
        raise ValueError("bad x")
    g = grad_fn(x)
    if g.shape != x.shape:
        raise ValueError("bad gradient")
    h = 0.03
    v = np.ones(len(x)) / np.sqrt(len(x))
    for _ in range(100):
        hv = (grad_fn(x + h * v) - g) / h
        lam = v @ hv
        v = hv / np.linalg.norm(hv)
    return 2 / lam
