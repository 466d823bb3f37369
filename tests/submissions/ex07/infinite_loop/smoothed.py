def smoothed(losses, weight=0.05):
    if weight <= 0 or weight > 1:
        raise ValueError(f"bad weight {weight}")
    out, running = [], 0.0
    for k, value in enumerate(losses, start=1):
        running += weight * (float(value) - running)
        out.append(running / (1 - (1 - weight) ** k))
    return out
