class Momentum(torch.optim.Optimizer):
    def __init__(self, params, lr, momentum=0.9, dampening=0.0, weight_decay=0.0, nesterov=False):
        if lr < 0:
            raise ValueError("invalid lr")
        if momentum < 0:
            raise ValueError("invalid momentum")
        if weight_decay < 0:
            raise ValueError("invalid weight_decay")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov needs momentum > 0 and dampening = 0")
        defaults = {"lr": lr, "momentum": momentum, "dampening": dampening, "weight_decay": weight_decay,
                    "nesterov": nesterov}
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        with torch.no_grad():
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    g = p.grad + group["weight_decay"] * p
                    if group["momentum"] > 0:
                        v = self.state[p].get("momentum_buffer")
                        if v is None:
                            v = g.clone()
                        else:
                            v = group["momentum"] * v + (1 - group["dampening"]) * g
                        self.state[p]["momentum_buffer"] = v
                        direction = g + group["momentum"] * v if group["nesterov"] else v
                    else:
                        direction = g
                    p.copy_(p - group["lr"] * direction)
        return loss
