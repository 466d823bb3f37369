def nesterov_step(param, grad, velocity, lr, momentum, dampening=0.0, weight_decay=0.0):
    if not math.isfinite(lr) or lr < 0:
        raise ValueError("lr must be a finite number >= 0")
    if not 0 < momentum < 1:
        raise ValueError("Nesterov momentum needs 0 < momentum < 1")
    if dampening != 0:
        raise ValueError("Nesterov momentum allows no dampening")
    if weight_decay < 0:
        raise ValueError("weight_decay must be >= 0")
    g = grad + weight_decay * param
    new_velocity = g.clone() if velocity is None else momentum * velocity + g
    return param - lr * (g + momentum * new_velocity), new_velocity
