"""Dataset: in-memory splits served as deterministic tf.data pipelines."""
import numpy as np
import tensorflow as tf

from lth_keras.data import augmentation
from lth_keras.data.splits import SPLITS

_BALANCED_SALT = 4  # each transform draws from its own stream of the seed
_AUGMENT_SALT = 5


class Dataset:
    """Train / validation / test splits of (float32 NHWC images, int32 labels).

    Images are stored as loaded (uint8 for image datasets) and normalised when
    served. Only the training pipeline is shuffled and augmented.
    """

    def __init__(self, name, splits, augment=False):
        self.name = name
        self.num_classes = splits.num_classes
        self.normalization = splits.normalization
        self.augment = augment
        self._splits = {s: getattr(splits, s) for s in SPLITS}
        self.input_shape = tuple(splits.train[0].shape[1:])
        if augment and len(self.input_shape) != 3:
            raise ValueError(f"augment=True needs (H, W, C) images, got {self.input_shape}")

    num_train = property(lambda self: len(self._splits["train"][1]))
    num_validation = property(lambda self: len(self._splits["validation"][1]))
    num_test = property(lambda self: len(self._splits["test"][1]))

    def __repr__(self):
        return (f"Dataset({self.name!r}, input_shape={self.input_shape}, "
                f"num_classes={self.num_classes}, train/validation/test="
                f"{self.num_train}/{self.num_validation}/{self.num_test})")

    def arrays(self, split):
        """Normalised numpy (x float32, y int32) of split "train"/"validation"/"test"."""
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        images, labels = self._splits[split]
        return self.normalization.numpy(images), labels

    def train(self, batch_size, seed, epochs=None, shuffle=True):
        """Batches of the training split; `epochs=None` repeats forever.

        Each epoch is a fresh stateless permutation of (seed, epoch), so the
        same seed gives the same batches whatever the global TF seed is.
        """
        images, labels = (tf.constant(a) for a in self._splits["train"])
        n = self.num_train
        base_seed = tf.constant([seed, 0], tf.int64)
        augment_seed = _fold(base_seed, _AUGMENT_SALT)

        def epoch_indices(epoch):
            order = tf.range(n)
            if shuffle:
                order = tf.random.experimental.stateless_shuffle(
                    order, seed=_fold(base_seed, epoch), alg="philox")
            return tf.data.Dataset.from_tensor_slices(order).batch(batch_size)

        def load_batch(step, indices):
            x = self.normalization.tensor(tf.gather(images, indices))
            if self.augment:
                x = augmentation.pad_crop_flip(
                    x, _fold(augment_seed, step), self.normalization.black)
            return x, tf.gather(labels, indices)

        epoch_numbers = (tf.data.Dataset.counter() if epochs is None
                         else tf.data.Dataset.range(epochs))
        batches = epoch_numbers.flat_map(epoch_indices).enumerate()
        return _deterministic(batches.map(load_batch, num_parallel_calls=tf.data.AUTOTUNE)
                              .prefetch(tf.data.AUTOTUNE))

    def validation(self, batch_size):
        return self._unshuffled("validation", batch_size)

    def test(self, batch_size):
        return self._unshuffled("test", batch_size)

    def balanced_batch(self, examples_per_class, seed):
        """Normalised numpy (x, y) of `examples_per_class` training examples of
        each class, drawn without replacement, in seeded random order.

        SNIP (Lee et al., 2019) and GraSP (Wang et al., 2020) score masks on
        class-balanced batches of the training data.
        """
        images, labels = self._splits["train"]
        rng = np.random.default_rng([seed, _BALANCED_SALT])
        chosen = []
        for c in range(self.num_classes):
            members = np.flatnonzero(labels == c)
            if len(members) < examples_per_class:
                raise ValueError(
                    f"examples_per_class={examples_per_class} but class {c} has "
                    f"only {len(members)} training examples")
            chosen.append(rng.choice(members, examples_per_class, replace=False))
        chosen = rng.permutation(np.concatenate(chosen))
        return self.normalization.numpy(images[chosen]), labels[chosen]

    def _unshuffled(self, split, batch_size):
        images, labels = self._splits[split]
        batches = (tf.data.Dataset.from_tensor_slices((images, labels))
                   .batch(batch_size)
                   .map(lambda x, y: (self.normalization.tensor(x), y))
                   .cache())
        return _deterministic(batches.prefetch(tf.data.AUTOTUNE))


def _fold(seed, data):
    return tf.random.experimental.stateless_fold_in(
        seed, tf.cast(data, tf.int64), alg="philox")


def _deterministic(dataset):
    options = tf.data.Options()
    options.deterministic = True
    return dataset.with_options(options)
