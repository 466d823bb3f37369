def heavy_ball_step(param, grad, velocity, lr, momentum, dampening=0.0, weight_decay=0.0):
    if not math.isfinite(lr) or lr < 0:
        raise ValueError("lr must be a finite number >= 0")
    if not 0 <= momentum < 1:
        raise ValueError("momentum must be in [0, 1)")
    if weight_decay < 0:
        raise ValueError("weight_decay must be >= 0")
    if velocity is None:
        velocity = torch.zeros_like(param)
    g = grad + weight_decay * param
    new_velocity = momentum * velocity + (1 - dampening) * g
    return param - lr * new_velocity, new_velocity
