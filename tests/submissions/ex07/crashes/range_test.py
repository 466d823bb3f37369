def range_test(model, loss_fn, loader, optimizer, start_lr=1e-7, end_lr=10.0, steps=100, smoothing=0.05,
               diverge_factor=4.0):
    if not 0 < start_lr < end_lr or steps < 2 or not 0 < smoothing <= 1 or diverge_factor <= 1:
        raise ValueError("bad settings")
    model_state, optimizer_state = copy.deepcopy(model.state_dict()), copy.deepcopy(optimizer.state_dict())
    mode = model.training
    model.train()
    lrs, raw, batches = [], [], iter(loader)
    try:
        for k in range(steps):
            lr = start_lr * (end_lr / start_lr) ** (k / (steps - 1))
            for group in optimizer.param_groups:
                group["lr"] = lr
            inputs, targets = next(batches)  # the loader is assumed to hold enough batches
            loss = loss_fn(model(inputs), targets)
            if not math.isfinite(loss.item()):
                break
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            lrs.append(lr)
            raw.append(loss.item())
            curve = smoothed(raw, smoothing)
            if curve[-1] > diverge_factor * min(curve):
                break
    finally:
        model.load_state_dict(model_state)
        optimizer.load_state_dict(optimizer_state)
        model.train(mode)
    return lrs, smoothed(raw, smoothing)
