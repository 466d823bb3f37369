def range_test(model, loss_fn, loader, optimizer, start_lr=1e-7, end_lr=10.0, steps=100, smoothing=0.05,
               diverge_factor=4.0):
    if not 0 < start_lr < end_lr or steps < 2 or not 0 < smoothing <= 1 or diverge_factor <= 1:
        raise ValueError("bad settings")
    saved = copy.deepcopy(model.state_dict())  # the model is saved; the optimizer is not
    factor = (end_lr / start_lr) ** (1 / (steps - 1))
    lrs, losses, batches = [], [], iter(loader)
    model.train()
    try:
        for k in range(steps):
            lr = start_lr * factor**k
            for group in optimizer.param_groups:
                group["lr"] = lr
            try:
                x, y = next(batches)
            except StopIteration:
                batches = iter(loader)
                x, y = next(batches)
            loss = loss_fn(model(x), y)
            if not torch.isfinite(loss):
                break
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            lrs.append(lr)
            losses.append(loss.item())
            curve = smoothed(losses, smoothing)
            if curve[-1] > diverge_factor * min(curve):
                break
    finally:
        model.load_state_dict(saved)
    return lrs, smoothed(losses, smoothing)
