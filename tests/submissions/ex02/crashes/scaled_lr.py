def scaled_lr(base_lr, base_batch_size, batch_size, rule="linear"):
    ratio = batch_size / base_batch_size
    if rule == "linear"
        return base_lr * ratio
    return base_lr * np.sqrt(ratio)
