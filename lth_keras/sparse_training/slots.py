"""Resetting the optimizer state of regrown connections to 0 (Evci et al.
2020; jaxpruner's ``restart_inner_state`` does the same).

Keras 3 optimizers have no ``get_slot``: each keeps its per-variable state in
lists indexed by ``optimizer._get_variable_index(variable)`` (Keras 3.15-3.16:
SGD ``momentums``; Adam, AdamW and Lion ``_momentums``; Adam, AdamW and RMSprop
``_velocities``; AMSGrad ``_velocity_hats``; RMSprop ``_average_gradients``).
"""

import numpy as np

SLOT_LISTS = ("momentums", "_momentums", "_velocities", "_velocity_hats", "_average_gradients")


def slots_of(optimizer, variable):
    """The optimizer's state variables that belong to ``variable`` (empty
    before the optimizer is built, or for plain SGD without momentum)."""
    if not getattr(optimizer, "built", False):
        return []
    index = optimizer._get_variable_index(variable)
    out = []
    for name in SLOT_LISTS:
        state = getattr(optimizer, name, None) or []
        if index < len(state) and state[index] is not None:
            out.append(state[index])
    return out


def reset_slots(optimizer, variable, where):
    """Sets ``variable``'s optimizer state to 0 where the boolean array ``where`` is True."""
    for slot in slots_of(optimizer, variable):
        slot.assign(np.where(where, 0, slot.numpy()).astype(slot.dtype))
