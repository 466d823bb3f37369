def gradient_descent(grad_fn, x0, lr, num_steps):
    if not np.isfinite(lr) or lr < 0:
        raise ValueError("lr must be a finite number >= 0")
    if not isinstance(num_steps, int) or num_steps < 0:
        raise ValueError("num_steps must be an integer >= 0")
    x = np.atleast_1d(np.array(x0, dtype=float))
    trajectory = [x.copy()]
    for _ in range(num_steps):
        x = gd_step(x, grad_fn, lr)
        trajectory.append(x.copy())
        if not np.all(np.isfinite(x)):
            break
    return np.array(trajectory)
