"""The run layout: the name of every file and folder of a run directory.

Nothing else spells a path inside a run (as open_lth keeps its layout in
``LotteryDesc.run_path``). A *stage* is a tuple of folder names below the run
directory; it is finished when its ``record.json`` exists (and holds the
SHA-256 of each file of the stage's folder, checked before it is trusted).

    run/
      config.json  lth_keras.lock  flags.txt  results.json  results.csv  <figures>.png
      tensorboard/<stage name>/
      round_03/  record.json  masks.npz  initial.weights.h5  final.weights.h5
      round_03/reinit/  ...
"""

# Files of a run directory.
CONFIG = "config.json"
FLAGS = "flags.txt"
RESULTS = "results.json"
RESULTS_CSV = "results.csv"
SUMMARY_CSV = "summary.csv"
SUMMARY_MD = "summary.md"
TENSORBOARD = "tensorboard"
WORKER_LOG = "worker.log"
# Held (flock) by the one process that writes the run; holds its pid.
LOCK = "lth_keras.lock"
# Every temporary file or folder of a run starts so, with a random rest: never a fixed name.
TEMPORARY_PREFIX = ".tmp_"

# Files of a stage.
RECORD = "record.json"
MASKS = "masks.npz"

# Folders of a run directory below which no stage is a saved model.
NOT_STAGES = (TENSORBOARD,)


def weights(name):
    """A stage's Keras weights file: ``initial``, ``rewind``, ``final``, ..."""
    return f"{name}.weights.h5"


def arrays(name):
    """A stage's NumPy arrays file."""
    return f"{name}.npz"


def figure(name):
    return f"{name}.png"


# Stage folders, by the field's own words.

def imp_round(r, control=None):
    """IMP round ``r``'s ticket, or one of its controls."""
    return (f"round_{r:02d}",) if control is None else (f"round_{r:02d}", control)


def imp_round_of(stage):
    """The round number of an IMP stage (``imp_round(r, ...)``)."""
    return int(stage[0].removeprefix("round_"))


def seed_folder(seed):
    return f"seed_{seed}"


def sparsity_folder(sparsity):
    return f"sparsity_{sparsity:g}"


def density_folder(density):
    return f"density_{density:g}"


def rewind_folder(k):
    return f"k_{k:06d}"


def prune_at_init_cell(method, sparsity, seed, check):
    """A pruning-at-initialization cell: one trained network."""
    return ("cells", method, sparsity_folder(sparsity), seed_folder(seed), check)


def prune_at_init_mask(method, sparsity, seed, found_on):
    """A mask found once per (method, sparsity, seed, data it was found on)."""
    return ("masks", method, sparsity_folder(sparsity), seed_folder(seed), found_on)


def instability_trajectory():
    """The dense network's W_k for every k: ``k_000100.weights.h5``, ..."""
    return ("trajectory",)


def instability_pair(r, k):
    """The two copies trained from round ``r``'s network at W_k."""
    return (*imp_round(r), rewind_folder(k))


def layer_lottery_stage(seed, criterion=None, part="dense"):
    """A layer-lottery stage: ``dense``, or a criterion's ``scores``,
    ``blocks_p<p>`` or ``filters_p<p>``."""
    return (seed_folder(seed), part) if criterion is None else (seed_folder(seed), criterion, part)


def layer_lottery_ticket(kind, p):
    return f"{kind}_p{p}"


LAYER_LOTTERY_SUMMARY = ("summary",)


def tfmot_cell(schedule, density, seed):
    return (schedule, density_folder(density), seed_folder(seed))


def tfmot_inputs(seed=None):
    """The TFMOT worker's inputs: per seed the data and theta_0, and the rates."""
    return ("inputs",) if seed is None else ("inputs", seed_folder(seed))


# Files the TFMOT worker reads and writes.
TFMOT_JOB = "job.json"
TFMOT_OUTCOME = "outcome.json"
TFMOT_TRAINED = "trained.npz"
TFMOT_DATA = "data.npz"
TFMOT_INITIAL = "initial.npz"
TFMOT_LEARNING_RATES = "learning_rates.npy"
TFMOT_DENSE_SIZES = "dense_sizes.json"


def stage_name(stage):
    """One folder name for a stage (its TensorBoard log directory)."""
    return "_".join(str(part) for part in stage)


# The layer lottery's scoring stage of a criterion (block and filter scores).
LAYER_LOTTERY_SCORES = "scores"


# Pruning at initialization's per-layer densities: the figure and the TensorBoard run.
DENSITY_PROFILES_FIGURE = "density_profiles"
DENSITY_PROFILE_LOGS = "density_profile"
