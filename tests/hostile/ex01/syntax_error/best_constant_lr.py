def best_constant_lr(hessian)
    return 1.0, 0.0
