def mup_adam_lrs(model, base_lr, base_width):
    if base_lr <= 0 or base_width < 1:
        raise ValueError("base_lr must be > 0 and base_width >= 1")
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    if len(linears) == 0:
        raise ValueError("no Linear layer")
    groups = []
    for i, layer in enumerate(linears):
        fan = layer.weight.shape[0]  # the number of rows of the weight
        lr = base_lr if i == 0 else base_lr * base_width / fan
        groups.append({"params": [layer.weight], "lr": float(lr)})
        if layer.bias is not None:
            groups.append({"params": [layer.bias], "lr": float(base_lr)})
    return groups
