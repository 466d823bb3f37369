def mup_adam_lrs(model, base_lr, base_width):
    if not base_lr > 0 or not base_width >= 1:
        raise ValueError("base_lr must be > 0 and base_width >= 1")
    # Walk the model, opening nested blocks, to list its Linear layers in order.
    pending, layers, i = list(model.children()) or [model], [], 0
    while i < len(pending):
        module = pending[i]
        if isinstance(module, torch.nn.Linear):
            layers.append(module)
            i += 1
        elif isinstance(module, torch.nn.Sequential):
            pending[i:i] = list(module.children())  # the block's layers go before it (and the block stays)
        else:
            i += 1
    if not layers:
        raise ValueError("the model has no nn.Linear layer")
    groups = []
    for index, layer in enumerate(layers):
        rate = base_lr if index == 0 else base_lr * base_width / layer.in_features
        groups.append({"params": [layer.weight], "lr": float(rate)})
        if layer.bias is not None:
            groups.append({"params": [layer.bias], "lr": float(base_lr)})
    return groups
