"""Structured tickets: channel and block gates, coupled channel groups, block and
filter criteria, and compaction into a physically smaller model.

    model = gated_resnet("resnet20", (32, 32, 3), 10, seed=0)
    removed, scores = prune_blocks(model, 2, block_criterion("grasp", inputs=x, labels=y))
    small = compact(model)          # plain Keras, blocks gone, same outputs
    effective_report(model)         # == metrics.report(small)
"""

from lth_keras.structured.cost import effective_report, report
from lth_keras.structured.criteria import (
    AGGREGATIONS, BLOCK_CRITERIA, BLOCK_CRITERION_NAMES, FILTER_CRITERIA, FILTER_CRITERION_NAMES,
    BlockCriterion, FilterCriterion, SaliencyBlocks, SaliencyFilters, block_criterion,
    filter_criterion, linear_cka)
from lth_keras.structured.gating import (
    add_block_gates, add_channel_gates, as_functional, block_gates, channel_gates, gated_resnet,
    removable_blocks, remove_blocks, removed_blocks)
from lth_keras.structured.groups import ChannelGroup, channel_groups, removable_groups
from lth_keras.structured.plan import Removal, removal
from lth_keras.structured.pruner import (
    choose_blocks, filter_masks, prune_blocks, prune_filters, prune_filters_to_multiply_adds)
from lth_keras.structured.summaries import GateSummaries, write_gates
from lth_keras.structured.surgery import compact
