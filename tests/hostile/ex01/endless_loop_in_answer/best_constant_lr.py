def best_constant_lr(hessian):
    while True:
        pass
