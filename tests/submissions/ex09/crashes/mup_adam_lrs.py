def mup_adam_lrs(model, base_lr, base_width):
    if not base_lr > 0 or not base_width >= 1:
        raise ValueError("base_lr must be > 0 and base_width >= 1")
    layers = [module for module in model.modules() if isinstance(module, torch.nn.Linear)]
    if not layers:
        raise ValueError("the model has no nn.Linear layer")
    by_rate = {}
    first = layers[0]
    for layer in layers:
        rate = base_lr if layer is first else base_lr * base_width / layer.in_features
        by_rate.setdefault(float(rate), []).append(layer.weight)
        if layer.bias is not None:
            by_rate.setdefault(float(base_lr), []).append(layer.bias)
    return [{"params": params, "lr": rate} for rate, params in by_rate.items()]
