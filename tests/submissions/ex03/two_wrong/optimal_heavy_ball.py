def optimal_heavy_ball(mu, L):
    if not (np.isfinite(mu) and np.isfinite(L)) or mu <= 0 or L < mu:
        raise ValueError("need finite 0 < mu <= L")
    sqrt_kappa = np.sqrt(L / mu)
    lr = 4 / (np.sqrt(L) + np.sqrt(mu)) ** 2
    momentum = ((sqrt_kappa - 1) / (sqrt_kappa + 1)) ** 2
    return float(lr), float(momentum)
