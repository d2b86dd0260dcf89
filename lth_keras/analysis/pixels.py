"""Pixel space: where attack budgets and corruptions are defined.

Models see normalised inputs ``(pixel - mean) / std``; an L-infinity epsilon
of 0.1 or a corruption's noise level is stated on pixels in [0, 1] (Madry et
al. 2018; Hendrycks & Dietterich 2019). A :class:`PixelSpace` converts
between the two with a dataset's :class:`lth_keras.data.normalization.Normalization`.
"""

import numpy as np


class PixelSpace:
    """Maps model inputs to [0, 1] pixels and back.

    Args:
      normalization: the dataset's ``Normalization`` (``data.normalization``);
        None: the model sees pixels themselves.
    """

    def __init__(self, normalization=None):
        mean = (0.0,) if normalization is None else normalization.mean
        std = (1.0,) if normalization is None else normalization.std
        self.mean = np.asarray(mean, np.float32)
        self.std = np.asarray(std, np.float32)

    def to_pixels(self, inputs):
        return inputs * self.std + self.mean

    def to_inputs(self, pixels):
        return (pixels - self.mean) / self.std
