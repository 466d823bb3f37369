def gradient_descent(grad_fn, x0, lr, num_steps):
    x = np.atleast_1d(np.array(x0, dtype=float))
    trajectory = [x]
    step = 0
    while step != num_steps:
        x = gd_step(x, grad_fn, lr)
        trajectory.append(x)
        step += 1
        if not np.isfinite(x).all():
            break
    return np.array(trajectory)
