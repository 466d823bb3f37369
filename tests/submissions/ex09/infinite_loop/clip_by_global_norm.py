def clip_by_global_norm(parameters, max_norm, eps=1e-6):
    if not (max_norm > 0 and math.isfinite(max_norm)):
        raise ValueError("max_norm must be a finite number > 0")
    if isinstance(parameters, torch.Tensor):
        parameters = [parameters]
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return 0.0
    norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g.double()) for g in grads])).item()
    for g in grads:
        g.mul_(min(1.0, max_norm / (norm + eps)))
    return norm
