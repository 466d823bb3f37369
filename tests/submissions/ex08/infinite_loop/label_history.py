def label_history(losses, val_losses):
    # Left for later: every run is called healthy.
    return "healthy"
