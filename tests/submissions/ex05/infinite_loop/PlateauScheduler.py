class PlateauScheduler:
    def __init__(self, lr, factor=0.1, patience=10, threshold=1e-4, cooldown=0, min_lr=0.0):
        if not (0 < lr < math.inf) or not 0 < factor < 1 or threshold < 0 or min_lr < 0:
            raise ValueError("bad setting")
        if not isinstance(patience, int) or patience < 0 or not isinstance(cooldown, int) or cooldown < 0:
            raise ValueError("patience and cooldown must be integers >= 0")
        self.lr, self.factor, self.patience, self.threshold = float(lr), factor, patience, threshold
        self.cooldown, self.min_lr = cooldown, min_lr
        self.best, self.bad, self.cooling = math.inf, 0, 0

    def step(self, metric):
        if metric < self.best * (1 - self.threshold):
            self.best, self.bad = metric, 0
        else:
            self.bad += 1
        if self.cooling:
            self.cooling -= 1
            self.bad = 0
        while self.bad > self.patience:
            new = max(self.lr * self.factor, self.min_lr)
            if self.lr - new <= 1e-8:
                continue  # nothing left to reduce
            self.lr = new
            self.cooling, self.bad = self.cooldown, 0
        return self.lr
