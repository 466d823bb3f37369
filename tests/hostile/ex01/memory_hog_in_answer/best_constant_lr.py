def best_constant_lr(hessian):
    return np.ones(2**32), 0.0
