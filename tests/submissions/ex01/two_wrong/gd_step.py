def gd_step(x, grad_fn, lr):
    x -= lr * grad_fn(x)
    return x
