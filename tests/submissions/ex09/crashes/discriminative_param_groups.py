def discriminative_param_groups(model, lr, ratio=100.0):
    if not lr > 0 or not ratio >= 1:
        raise ValueError("lr must be > 0 and ratio >= 1")
    if not isinstance(model, torch.nn.Sequential):
        raise ValueError("model must be an nn.Sequential")
    children = [child for child in model.children() if list(child.parameters())]
    n = len(children)
    step = ratio ** (1 / (n - 1))  # the factor between neighbouring groups
    groups = []
    for i, child in enumerate(children):
        params = [p for p in child.parameters() if p.requires_grad]
        if params:
            groups.append({"params": params, "lr": lr / ratio * step ** i})
    return groups
