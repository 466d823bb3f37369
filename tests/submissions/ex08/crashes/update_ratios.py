def update_ratios(model, optimizer, loss):
    optimizer.zero_grad()
    loss.backward()
    names = {id(p): name for name, p in model.named_parameters()}
    params = [p for group in optimizer.param_groups for p in group["params"]]
    before = [p.detach().clone() for p in params]
    norms = [p.grad.norm() for p in params]  # every parameter is assumed to have a gradient
    optimizer.step()
    ratios = {}
    for p, old, _ in zip(params, before, norms):
        change, size = (p.detach() - old).norm().item(), old.norm().item()
        ratios[names[id(p)]] = change / size if size else (0.0 if change == 0 else math.inf)
    return ratios
