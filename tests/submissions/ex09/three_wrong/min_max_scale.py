def min_max_scale(x_train, x):
    x_train, x = np.array(x_train, dtype=float), np.array(x, dtype=float)
    if x_train.ndim != 2 or x.ndim != 2 or x_train.shape[1] != x.shape[1]:
        raise ValueError("two 2-D arrays with the same number of columns are needed")
    ranges = np.ptp(x_train, axis=0)
    ranges[ranges == 0] = 1.0
    return (x - x_train.min(axis=0)) / ranges
