def max_stable_lr(hessian):
    hessian = np.asarray(hessian, dtype=float)
    if hessian.ndim != 2 or hessian.shape[0] != hessian.shape[1] or not np.allclose(hessian, hessian.T):
        raise ValueError("hessian must be square and symmetric")
    eigenvalues = np.linalg.eigvalsh(hessian)
    if eigenvalues.min() < -1e-12 or eigenvalues.max() <= 0:
        raise ValueError("hessian must be positive semidefinite and nonzero")
    return 2 / eigenvalues.max()
