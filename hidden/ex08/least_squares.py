"""Shared by two suites of exercise 8: the loss history of a real minibatch SGD run on a least-squares problem."""

import torch


def sgd_losses(lr, steps, samples, batch_size=20):
    """The minibatch loss at each step of SGD on noiseless least squares in 5-D, from zero weights."""
    generator = torch.Generator().manual_seed(0)
    inputs = torch.randn(samples, 5, generator=generator)
    targets = inputs @ torch.arange(1.0, 6.0)
    weights, losses = torch.zeros(5), []
    for step in range(steps):
        first = batch_size * (step % (samples // batch_size))
        batch = slice(first, first + batch_size)
        residual = inputs[batch] @ weights - targets[batch]
        losses.append(float((residual ** 2).mean()))
        weights = weights - lr * 2 * inputs[batch].T @ residual / batch_size
    return losses
