"""Background tasks: long operations (an ingest of a folder, a full reasoning run, an index
rebuild, a migration, code generation) started over HTTP and followed by an id, with progress,
a result or an error, and a cancel button; recorded in the store, so a task cut off by a restart
says so.

`TaskBook` keeps the tasks (`kg.tasks.book`), `TaskRunner` runs them in a server process
(`kg.tasks.runner`), `OPERATIONS` binds the core's operations of
`ontology/background_tasks.ttl` to their functions (`kg.tasks.operations`; code generation,
above the core, is bound by the server: `resolvers.rest.tasks`), and a `Reporter` carries
progress and cancellation (`kg.tasks.progress`).

>>> sorted(operations())
['codegen', 'index-rebuild', 'ingest', 'migrate', 'reason']
"""

from kg.tasks.book import INTERRUPTED_HINT, TaskBook
from kg.tasks.live import LiveState, is_task_id, live_folder
from kg.tasks.operations import OPERATIONS, Operation, OperationContext
from kg.tasks.progress import Cancelled, Reporter
from kg.tasks.record import Failure, Owner, Progress, TaskRecord
from kg.tasks.runner import TaskRunner
from kg.tasks.vocabulary import OperationInfo, StatusInfo, TaskStatus, operations, statuses

__all__ = [
    "INTERRUPTED_HINT",
    "OPERATIONS",
    "Cancelled",
    "Failure",
    "LiveState",
    "Operation",
    "OperationContext",
    "OperationInfo",
    "Owner",
    "Progress",
    "Reporter",
    "StatusInfo",
    "TaskBook",
    "TaskRecord",
    "TaskRunner",
    "TaskStatus",
    "is_task_id",
    "live_folder",
    "operations",
    "statuses",
]
