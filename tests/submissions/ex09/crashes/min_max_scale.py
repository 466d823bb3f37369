def min_max_scale(x_train, x):
    if x_train.ndim != 2 or x.ndim != 2 or x_train.shape[1] != x.shape[1]:
        raise ValueError("two 2-D arrays with the same number of columns are needed")
    low, high = x_train.min(axis=0), x_train.max(axis=0)
    span = np.where(high > low, high - low, 1.0)
    return ((x - low) / span).astype(np.float64)
