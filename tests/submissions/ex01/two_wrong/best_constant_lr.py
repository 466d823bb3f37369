def best_constant_lr(hessian):
    hessian = np.asarray(hessian, dtype=float)
    if not np.allclose(hessian, hessian.T):
        raise ValueError("hessian must be symmetric")
    curvatures = np.diag(hessian)
    L, mu = curvatures.max(), curvatures.min()
    if mu <= 0:
        raise ValueError("hessian must be positive definite")
    return 2 / (L + mu), (L - mu) / (L + mu)
