def update_ratios(model, optimizer, loss):
    optimizer.zero_grad()
    loss.backward()
    before = {name: p.detach().clone() for name, p in model.named_parameters() if p.grad is not None}
    optimizer.step()
    ratios = {}
    for name, p in model.named_parameters():
        if name in before:
            change = (p.detach() - before[name]).norm().item()
            size = p.detach().norm().item()  # the weights after the step
            ratios[name] = change / size if size > 0 else (0.0 if change == 0 else math.inf)
    return ratios
