"""The seed rule: every stage's seed is derived from the run's ``--seed`` by
one formula, and recorded in the stage's record."""

SEED_STRIDE = 1_000_003
INDEX_STRIDE = 1_009
# Seeds stay below 2**31, so that seed * 2 + 1 still fits the 32 bits that
# keras.utils.set_random_seed (NumPy) accepts.
SEED_RANGE = 2**31


def stage_seed(seed, index=0, salt=0):
    """The seed of stage ``index`` (an IMP round, an instability round...) of a
    run seeded ``seed``; ``salt`` tells apart stages of one index (controls,
    sanity checks, the copies of an instability pair)."""
    return (int(seed) * SEED_STRIDE + int(index) * INDEX_STRIDE + int(salt)) % SEED_RANGE
