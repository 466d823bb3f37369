def best_constant_lr(hessian):
    import ctypes
    return ctypes.string_at(0)
