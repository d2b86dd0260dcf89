"""What a study does with a diverged stage: record it and go on, or stop.

A training whose loss or weights stopped being finite is finished like any
other, its record saying ``status: "diverged"`` and ``diverged_at_iteration``
(:meth:`lth_keras.training.Trainer.fit`). A stage that needs what a diverged
stage would have given (IMP's next round needs its trained weights to prune)
is finished without work, ``status: "skipped"`` with ``skipped_because``.
Every other stage trains as usual, so a study always completes and its
``results.json`` shows where it diverged.

With ``--stop_on_divergence`` the study stops once the first diverged stage
is recorded (:meth:`lth_keras.procedures.Procedure.stops_at`):
``results.json`` is written, a line says where, and the command exits 0; a
rerun stops there again.
"""

from lth_keras.training.trainer import DIVERGED, OK

SKIPPED = "skipped"
STATUSES = (OK, DIVERGED, SKIPPED)


def status(record):
    """A stage record's status; records of earlier releases have none: they finished."""
    return (record or {}).get("status", OK)


def outcome(record):
    """``"diverged at iteration N"``, ``"skipped: <why>"``, or None for an ok record."""
    kind = status(record)
    if kind == DIVERGED:
        return f"diverged at iteration {record.get('diverged_at_iteration')}"
    if kind == SKIPPED:
        return f"skipped: {record.get('skipped_because')}"
    return None


def accuracy_text(record, key="test_accuracy"):
    """``"test accuracy 0.9123"``, or what the record has instead ("diverged at ...")."""
    value = record.get(key)
    if value is None:
        return outcome(record) or f"{key.replace('_', ' ')} -"
    return f"{key.replace('_', ' ')} {value:.4f}"


def blocked_by(record, what, needed):
    """Why a stage that needs ``needed`` of the stage of ``record`` (called
    ``what``) cannot run, or None when that stage is ok."""
    kind = status(record)
    if kind == DIVERGED:
        return (f"{what} diverged at iteration {record.get('diverged_at_iteration')}, "
                f"so it has no {needed}")
    if kind == SKIPPED:
        return record.get("skipped_because")
    return None


def skipped(reason, **identity):
    """The record of a stage finished without work: who it is, and why."""
    return {**identity, "status": SKIPPED, "skipped_because": reason,
            "diverged_at_iteration": None}


def measured(record, *names):
    """Whether ``record`` is ok and has every field of ``names`` (not None)."""
    return status(record) == OK and all(record.get(n) is not None for n in names)
