def clip_by_global_norm(parameters, max_norm, eps=1e-6):
    if not 0 < max_norm < math.inf:
        raise ValueError("max_norm must be a finite number > 0")
    params = [parameters] if isinstance(parameters, torch.Tensor) else list(parameters)
    squares = 0.0
    for p in params:
        if p.grad is None:
            continue
        norm = p.grad.norm().item()
        squares += norm ** 2
        p.grad.mul_(min(1.0, max_norm / (norm + eps)))  # each gradient clipped by its own norm
    return math.sqrt(squares)
