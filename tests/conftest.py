import matplotlib

matplotlib.use("Agg")  # figures in tests are drawn, never shown
