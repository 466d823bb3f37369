def optimal_heavy_ball(mu, L):
    if mu <= 0 or L < mu:
        raise ValueError("need 0 < mu <= L")
    lr = 4 / (math.sqrt(L) + math.sqrt(mu)) ** 2
    momentum = ((math.sqrt(L) - math.sqrt(mu)) / (math.sqrt(L) + math.sqrt(mu)) ** 2
    return lr, momentum
