def clip_by_global_norm(parameters, max_norm, eps=1e-6):
    if not (max_norm > 0 and math.isfinite(max_norm)):
        raise ValueError("max_norm must be a finite number > 0")
    grads = [p.grad for p in ([parameters] if torch.is_tensor(parameters) else parameters) if p.grad is not None]
    total = torch.sqrt(sum((g ** 2).sum() for g in grads)
    for g in grads:
        g *= min(1.0, max_norm / (total.item() + eps))
    return total.item()
