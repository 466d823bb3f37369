def gradient_descent(grad_fn, x0, lr, num_steps):
    x = np.atleast_1d(np.array(x0, dtype=float))
    trajectory = [x]
    for _ in range(num_steps)
        x = gd_step(x, grad_fn, lr)
        trajectory.append(x)
    return np.array(trajectory)
