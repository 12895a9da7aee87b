"""The codemod rules, one per module, and the order the driver applies them in (one parse per file).

Order matters: the manager is threaded into functions first (so later rules find a manager in reach),
loads by URI are rewritten before the store construction (a store only used for them goes away, and so does the store parameter of a private helper they
emptied), the
store construction and keyword plumbing follow (then the definitions lose the parameter their callers no
longer pass), then the trainer-flow rewrites, then the leaf rewrites (selector/error names after the loads, so they see
which store calls are left), and last the pass that marks everything left with the TODO marker.
"""

from __future__ import annotations

from codemods.rules._base import LegacyRule
from codemods.rules.exports import DropLegacyExports
from codemods.rules.initialize_env import InlineInitializePolicy
from codemods.rules.keyword_plumbing import StoreKeywordPlumbing
from codemods.rules.load_by_uri import LoadByUri
from codemods.rules.load_or_create import LoadOrCreatePolicy
from codemods.rules.manager_threading import ThreadCheckpointManager
from codemods.rules.marimo_cells import MarimoLocalLoad
from codemods.rules.mark_remaining import MarkRemainingLegacy
from codemods.rules.metadata_dict import PolicyMetadataToDict
from codemods.rules.periodic_checkpoint import PeriodicCheckpoint
from codemods.rules.private_store_param import DropPrivateStoreParam
from codemods.rules.record_paths import RecordToPath
from codemods.rules.selector_names import SelectorNames
from codemods.rules.store_construction import StoreToManager
from codemods.rules.trainer_state import TrainerStateLoad
from codemods.rules.unused_store import DropUnusedStoreParams

REGISTRY: tuple[type[LegacyRule], ...] = (
    ThreadCheckpointManager,
    LoadByUri,
    DropPrivateStoreParam,
    StoreToManager,
    StoreKeywordPlumbing,
    DropUnusedStoreParams,
    InlineInitializePolicy,
    TrainerStateLoad,
    LoadOrCreatePolicy,
    PeriodicCheckpoint,
    MarimoLocalLoad,
    PolicyMetadataToDict,
    RecordToPath,
    SelectorNames,
    DropLegacyExports,
    MarkRemainingLegacy,
)

__all__ = ["REGISTRY", "LegacyRule"]
