class Standardizer:
    """Scale each feature to mean 0 and standard deviation 1, using statistics of the training data."""

    def fit(self, x):
        self.mean_ = np.mean(x, axis=0)
        self.scale_ = np.std(x, axis=0, ddof=1)
        return self

    def transform(self, x):
        return (x - self.mean_) / self.scale_

    def fit_transform(self, x):
        return self.fit(x).transform(x)
