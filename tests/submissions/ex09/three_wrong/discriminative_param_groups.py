def discriminative_param_groups(model, lr, ratio=100.0):
    if lr <= 0 or ratio < 1 or not isinstance(model, torch.nn.Sequential):
        raise ValueError("lr must be > 0, ratio >= 1 and model an nn.Sequential")
    children = [child for child in model.children() if len(list(child.parameters())) > 0]
    rates = np.linspace(lr / ratio, lr, len(children))  # evenly spaced
    groups = []
    for child, rate in zip(children, rates):
        params = [p for p in child.parameters() if p.requires_grad]
        if params:
            groups.append({"params": params, "lr": float(rate)})
    return groups
