def smoothed(losses, weight=0.05):
    if not 0 < weight <= 1:
        raise ValueError("weight must be in (0, 1]")
    result, average = [], 0.0
    for loss in losses:
        average = (1 - weight) * average + weight * float(loss)
        result.append(average)
    return result
