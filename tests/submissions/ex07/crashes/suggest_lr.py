def suggest_lr(lrs, losses):
    # torch-lr-finder's suggestion: where the loss falls fastest
    return steepest(lrs, losses)
