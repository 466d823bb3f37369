def max_stable_lr(hessian):
    H = np.array(hessian, dtype=float)
    if H.ndim != 2 or H.shape[0] != H.shape[1]:
        raise ValueError("not square")
    if not np.allclose(H, H.T):
        raise ValueError("not symmetric")
    lam = np.linalg.eigvalsh(H)
    if lam[0] < -1e-12:
        raise ValueError("negative eigenvalue")
    if lam[-1] == 0:
        raise ValueError("zero Hessian")
    return 2.0 / lam[-1]
