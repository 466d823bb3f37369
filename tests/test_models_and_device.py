"""lrcourse.models and lrcourse.device."""

import pytest
import torch

from lrcourse import device, models


@pytest.mark.parametrize("model, features", [
    (models.linear(784, 10), 784), (models.mlp(784, 10, hidden=(32, 16)), 784), (models.small_cnn(10), 784),
    (models.small_cnn(3, image_shape=(1, 8, 8), channels=4), 64)])
def test_models_map_flat_features_to_outputs(model, features):
    outputs = model(torch.randn(5, features))
    assert outputs.shape[0] == 5 and outputs.shape[1] in (3, 10)


@pytest.mark.parametrize("build", [lambda: models.linear(0, 10), lambda: models.mlp(10, 2, hidden=(16, -1)),
                                   lambda: models.small_cnn(10, channels=0), lambda: models.linear(10, 2.5)])
def test_bad_sizes_are_refused(build):
    with pytest.raises(ValueError, match="positive integer"):
        build()


def test_the_device_can_be_chosen_by_environment(monkeypatch):
    monkeypatch.setenv("LRCOURSE_DEVICE", "cpu")
    assert device.pick_device() == torch.device("cpu")
    assert device.describe(torch.device("cpu")).startswith("Running on cpu (CPU")


def test_without_an_accelerator_the_cpu_is_picked(monkeypatch):
    monkeypatch.delenv("LRCOURSE_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert device.pick_device() == torch.device("cpu")


def test_the_transformer_maps_tokens_to_one_distribution_per_position():
    model = models.Transformer(vocabulary=7, length=5, width=16, heads=2, layers=1, norm_first=True)
    logits = model(torch.randint(0, 7, (3, 5)))
    assert logits.shape == (3, 5, 7)
    with pytest.raises(ValueError, match="multiple of heads"):
        models.Transformer(7, 5, width=10, heads=4)


@pytest.mark.parametrize("size, kind, large", [("", "cuda", True), ("", "cpu", False), ("large", "cpu", True),
                                               ("small", "cuda", False), (" Large ", "cpu", True)])
def test_one_setting_chooses_the_chapters_configuration(monkeypatch, size, kind, large):
    monkeypatch.setenv("LRCOURSE_SIZE", size)
    assert device.large_configuration(torch.device(kind)) is large


def test_a_misspelt_size_is_an_error(monkeypatch):
    monkeypatch.setenv("LRCOURSE_SIZE", "huge")
    with pytest.raises(ValueError, match="LRCOURSE_SIZE must be 'small' or 'large'"):
        device.large_configuration(torch.device("cpu"))


def test_setup_names_the_device_and_sets_one_thread_on_a_cpu(monkeypatch, capsys):
    monkeypatch.setenv("LRCOURSE_DEVICE", "cpu")
    monkeypatch.delenv("LRCOURSE_THREADS", raising=False)
    monkeypatch.setenv("LRCOURSE_SIZE", "large")
    threads = torch.get_num_threads()
    try:
        where, large = device.setup()
        assert where == torch.device("cpu") and large and torch.get_num_threads() == 1
        assert capsys.readouterr().out.startswith("Running on cpu (CPU, 1 thread)")
        torch.set_num_threads(threads)
        device.setup(threads=None)
        assert torch.get_num_threads() == threads
    finally:
        torch.set_num_threads(threads)


def test_more_threads_for_a_block_within_the_cap_then_back(monkeypatch):
    monkeypatch.delenv("LRCOURSE_THREADS", raising=False)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        with device.more_threads(2):
            assert torch.get_num_threads() == 2
        assert torch.get_num_threads() == 1
        monkeypatch.setenv("LRCOURSE_THREADS", "1")  # what the test suite sets: chapters run beside other work
        with device.more_threads(2):
            assert torch.get_num_threads() == 1
        torch.set_num_threads(2)
        device.setup(threads=None)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize("value", ["0", "two", "-1"])
def test_a_bad_thread_cap_is_an_error(monkeypatch, value):
    monkeypatch.setenv("LRCOURSE_THREADS", value)
    with pytest.raises(ValueError, match="LRCOURSE_THREADS must be a positive whole number"):
        with device.more_threads(2):
            pass


def test_mlp_takes_an_activation_and_a_normalization_after_each_hidden_layer():
    net = models.mlp(5, 3, hidden=(4, 6), activation=torch.nn.Tanh, norm="batch")
    kinds = [type(layer).__name__ for layer in net]
    assert kinds == ["Linear", "BatchNorm1d", "Tanh", "Linear", "BatchNorm1d", "Tanh", "Linear"]
    assert type(models.mlp(5, 3, hidden=(4,), norm="layer")[1]) is torch.nn.LayerNorm
    with pytest.raises(ValueError, match="norm must be None or one of 'batch', 'layer'"):
        models.mlp(5, 3, norm="group")


def test_scale_before_a_layer_keeps_the_function_and_multiplies_adams_step():
    """Scale(c) before a linear layer whose weight is divided by c computes the same outputs, and one Adam step
    moves the effective weight c times as far (Adam's step does not depend on the gradient's scale)."""
    torch.manual_seed(0)
    plain = torch.nn.Linear(4, 2)
    scaled = torch.nn.Linear(4, 2)
    factor = 0.25
    with torch.no_grad():
        scaled.weight.copy_(plain.weight / factor)
        scaled.bias.copy_(plain.bias)
    with_scale = torch.nn.Sequential(models.Scale(factor), scaled)
    x = torch.randn(8, 4)
    assert torch.allclose(with_scale(x), plain(x), atol=1e-6)
    moves = []
    for model, weight in ((plain, plain.weight), (with_scale, scaled.weight)):
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
        before = weight.detach().clone()
        model(x).pow(2).sum().backward()
        optimizer.step()
        moves.append(weight.detach() - before)
    effective_move = factor * moves[1]  # the network's weight is factor times the stored one
    assert torch.allclose(effective_move, factor * moves[0], rtol=1e-4, atol=1e-7)
    assert not torch.allclose(effective_move, moves[0], rtol=1e-2)
