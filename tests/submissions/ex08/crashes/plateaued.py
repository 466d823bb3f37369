def plateaued(losses, window=50, min_drop=0.01):
    if len(losses) < 2 * window
        return False
    return sum(losses[-window:]) / window > (1 - min_drop) * sum(losses[-2 * window:-window]) / window
